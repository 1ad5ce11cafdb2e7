// Every configuration key, its type and its check. A new key is one line in
// fields(), one member in troupe/config.hpp, one entry in config/troupe.toml
// and docs/configuration.md (tests check the last two). Keys an application
// declares (app_settings) become fields of the same kind, in fields(app).
#include "schema.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace troupe::schema {
namespace {

using strings = std::vector<std::string>;

template <class T>
constexpr std::string_view type_name() {
  if constexpr (std::is_same_v<T, bool>)
    return "boolean";
  else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, int64_t>)
    return "integer";
  else if constexpr (std::is_same_v<T, double>)
    return "number";
  else if constexpr (std::is_same_v<T, strings>)
    return "array of strings";
  else
    return "string";
}

// Converts a node to T; returns an error text, empty when fine.
template <class T>
std::string convert(const toml::node& node, T& value) {
  if constexpr (std::is_same_v<T, int> || std::is_same_v<T, int64_t>) {
    auto v = node.value_exact<int64_t>();
    if (!v)
      return "expected an integer";
    if (std::is_same_v<T, int> && (*v < INT32_MIN || *v > INT32_MAX))
      return "integer out of range";
    value = static_cast<T>(*v);
  } else if constexpr (std::is_same_v<T, double>) {
    if (!node.is_number())
      return "expected a number";
    value = *node.value<double>();
  } else if constexpr (std::is_same_v<T, strings>) {
    auto* arr = node.as_array();
    if (!arr)
      return "expected an array of strings";
    value.clear();
    for (auto& item : *arr) {
      auto s = item.value_exact<std::string>();
      if (!s)
        return "expected an array of strings";
      value.push_back(*s);
    }
  } else {
    auto v = node.value_exact<T>();
    if (!v)
      return "expected a " + std::string(type_name<T>());
    value = *v;
  }
  return {};
}

// A key of type T stored where `at(cfg)` refers (a generic lambda, so one
// accessor serves reading into a config and printing a const one).
template <class T, class At>
field typed_field(std::string section, std::string key, At at, std::function<std::string(const T&)> check) {
  field f{section, key, type_name<T>(), {}, {}};
  f.read = [=](const toml::node& node, config& cfg) -> std::string {
    T value{};
    if (auto err = convert(node, value); !err.empty())
      return err;
    if (check) {
      if (auto err = check(value); !err.empty())
        return err;
    }
    at(cfg) = std::move(value);
    return {};
  };
  f.write = [=](const config& cfg, toml::table& out) {
    auto* tbl = out[section].as_table();
    if (!tbl)
      tbl = out.insert(section, toml::table{}).first->second.as_table();
    const T& v = at(cfg);
    if constexpr (std::is_same_v<T, int>) {
      tbl->insert(key, static_cast<int64_t>(v));
    } else if constexpr (std::is_same_v<T, strings>) {
      toml::array arr;
      for (auto& s : v)
        arr.push_back(s);
      tbl->insert(key, std::move(arr));
    } else {
      tbl->insert(key, v);
    }
  };
  return f;
}

template <class S, class T>
field make_field(std::string_view section, std::string_view key, S config::*sec,
                 T S::*member, std::function<std::string(const T&)> check = {}) {
  return typed_field<T>(std::string(section), std::string(key),
                        [=](auto& cfg) -> auto& { return cfg.*sec.*member; }, std::move(check));
}

// A declared key: its value lives in the config's own app_settings. The
// declarations are fixed before loading, so the setting is there; a config
// whose `app` lacks it is a programming error.
template <class T>
field declared_field(const app_settings::setting& s) {
  auto at = [section = s.section, key = s.key](auto& cfg) -> auto& {
    auto* found = app_access::find(cfg.app, section, key);
    if (!found)
      throw std::logic_error("[" + section + "] " + key + ": not declared in this config's app settings");
    return std::get<T>(found->current);
  };
  std::function<std::string(const T&)> check;
  if (s.check)
    check = [c = s.check](const T& v) { return c(app_settings::value(v)); };
  auto f = typed_field<T>(s.section, s.key, at, std::move(check));
  f.declared = true;
  return f;
}

std::function<std::string(const int&)> in_range(int lo, int hi) {
  return [=](const int& v) -> std::string {
    if (v < lo || v > hi)
      return "must be between " + std::to_string(lo) + " and " + std::to_string(hi);
    return {};
  };
}

// Seconds; `hi` is whole so the message stays short.
std::function<std::string(const double&)> seconds(int hi) {
  return [=](const double& v) -> std::string {
    if (!(v >= 0 && v <= hi))
      return "must be between 0 and " + std::to_string(hi);
    return {};
  };
}

std::function<std::string(const double&)> positive_seconds(int hi) {
  return [=](const double& v) -> std::string {
    if (!(v > 0 && v <= hi))
      return "must be above 0 and at most " + std::to_string(hi);
    return {};
  };
}

std::function<std::string(const std::string&)> one_of(std::initializer_list<const char*> xs) {
  std::vector<std::string> allowed(xs.begin(), xs.end());
  return [allowed](const std::string& v) -> std::string {
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end())
      return {};
    std::string msg = "must be one of";
    for (auto& a : allowed)
      msg += " " + a;
    return msg;
  };
}

std::function<std::string(const std::string&)> not_empty() {
  return [](const std::string& v) -> std::string { return v.empty() ? "must not be empty" : ""; };
}

// gRPC metadata keys are lower-case; "grpc-" ones are reserved.
std::string metadata_key(const std::string& v) {
  if (v.empty())
    return "must not be empty";
  for (char c : v)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return "must be a lower-case metadata key (a-z 0-9 - _ .)";
  if (v.rfind("grpc-", 0) == 0)
    return "must not start with grpc- (reserved by gRPC)";
  return {};
}

std::string method_paths(const strings& v) {
  for (auto& m : v) {
    auto slash = m.find('/', 1);
    if (m.size() < 4 || m[0] != '/' || slash == std::string::npos || slash == 1 ||
        slash + 1 == m.size() || m.find('/', slash + 1) != std::string::npos ||
        m.find('.') > slash)
      return "'" + m + "' is not a method path like /package.Service/Method";
  }
  return {};
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

const std::vector<field>& fields() {
  using C = config;
  using S = server_config;
  using K = scheduler_config;
  using D = database_config;
  using B = blocking_config;
  using A = auth_config;
  using L = logging_config;
  using T = tls_config;
  constexpr int big = 1 << 30;
  // gRPC takes milliseconds as an int: about 24 days at most.
  constexpr int ms_limit = 2000000;
  static const std::vector<field> all = {
    make_field("server", "host", &C::server, &S::host, not_empty()),
    make_field("server", "port", &C::server, &S::port, in_range(0, 65535)),
    make_field("server", "max_concurrent_streams", &C::server, &S::max_concurrent_streams, in_range(1, big)),
    make_field("server", "max_inflight", &C::server, &S::max_inflight, in_range(1, big)),
    make_field("server", "max_inflight_anonymous", &C::server, &S::max_inflight_anonymous, in_range(0, big)),
    make_field("server", "max_send_message_bytes", &C::server, &S::max_send_message_bytes, in_range(1024, big)),
    make_field("server", "max_receive_message_bytes", &C::server, &S::max_receive_message_bytes, in_range(1024, big)),
    make_field("server", "keepalive_time_s", &C::server, &S::keepalive_time_s, seconds(ms_limit)),
    make_field("server", "keepalive_timeout_s", &C::server, &S::keepalive_timeout_s, positive_seconds(3600)),
    make_field("server", "keepalive_permit_without_calls", &C::server, &S::keepalive_permit_without_calls),
    make_field("server", "max_connection_idle_s", &C::server, &S::max_connection_idle_s, seconds(ms_limit)),
    make_field("server", "max_connection_age_s", &C::server, &S::max_connection_age_s, seconds(ms_limit)),
    make_field("server", "shutdown_grace_s", &C::server, &S::shutdown_grace_s, seconds(3600)),
    make_field("server", "reflection", &C::server, &S::reflection),
    make_field("server", "health_check", &C::server, &S::health_check),
    make_field("server", "bench_service", &C::server, &S::bench_service),
    make_field("server", "debug", &C::server, &S::debug),
    make_field("server", "transport_threads", &C::server, &S::transport_threads, in_range(0, 256)),
    make_field("server", "write_window", &C::server, &S::write_window, in_range(1, 65536)),
    make_field("server", "write_window_bytes", &C::server, &S::write_window_bytes, in_range(1024, 1 << 30)),
    make_field("server", "read_window", &C::server, &S::read_window, in_range(1, 65536)),
    make_field("scheduler", "max_threads", &C::scheduler, &K::max_threads, in_range(0, 1024)),
    make_field("scheduler", "policy", &C::scheduler, &K::policy, one_of({"sharing", "stealing"})),
    make_field("scheduler", "max_throughput", &C::scheduler, &K::max_throughput, in_range(1, big)),
    make_field("database", "url", &C::database, &D::url, not_empty()),
    make_field("database", "workers", &C::database, &D::workers, in_range(1, 1024)),
    make_field("database", "queue", &C::database, &D::queue, in_range(0, big)),
    make_field("database", "job_timeout_ms", &C::database, &D::job_timeout_ms, in_range(1, big)),
    make_field("blocking", "threads", &C::blocking, &B::threads, in_range(1, 1024)),
    make_field("blocking", "queue", &C::blocking, &B::queue, in_range(0, big)),
    make_field("blocking", "job_timeout_ms", &C::blocking, &B::job_timeout_ms, in_range(1, big)),
    make_field("auth", "enabled", &C::auth, &A::enabled),
    make_field("auth", "require_auth", &C::auth, &A::require_auth),
    make_field<A, std::string>("auth", "header", &C::auth, &A::header, metadata_key),
    make_field<A, strings>("auth", "public_methods", &C::auth, &A::public_methods, method_paths),
    make_field("auth", "cache_ttl_s", &C::auth, &A::cache_ttl_s, seconds(3600)),
    make_field("auth", "max_failures", &C::auth, &A::max_failures, in_range(1, big)),
    make_field("auth", "failure_window_s", &C::auth, &A::failure_window_s, positive_seconds(86400)),
    make_field("logging", "level", &C::logging, &L::level,
               one_of({"trace", "debug", "info", "warn", "error", "critical", "off"})),
    make_field("logging", "format", &C::logging, &L::format, one_of({"text", "json"})),
    make_field("logging", "request_log", &C::logging, &L::request_log, one_of({"off", "errors", "all"})),
    make_field("logging", "request_log_retention_days", &C::logging, &L::request_log_retention_days,
               in_range(0, 36500)),
    make_field("tls", "cert", &C::tls, &T::cert),
    make_field("tls", "key", &C::tls, &T::key),
    make_field("tls", "client_ca", &C::tls, &T::client_ca),
    make_field("tls", "require_client_cert", &C::tls, &T::require_client_cert),
  };
  return all;
}

std::vector<field> fields(const app_settings& app) {
  std::vector<field> all = fields();
  for (auto& s : app.settings())
    all.push_back(std::visit(
      [&](auto& d) { return declared_field<std::decay_t<decltype(d)>>(s); }, s.default_value));
  return all;
}

const field* find(const std::vector<field>& all, std::string_view section, std::string_view key) {
  auto it = std::find_if(all.begin(), all.end(),
                         [&](const field& f) { return f.section == section && f.key == key; });
  return it == all.end() ? nullptr : &*it;
}

std::vector<std::string_view> sections(const std::vector<field>& all) {
  std::vector<std::string_view> out;
  for (auto& f : all)
    if (std::find(out.begin(), out.end(), f.section) == out.end())
      out.push_back(f.section);
  return out;
}

std::vector<std::string_view> keys_of(const std::vector<field>& all, std::string_view section) {
  std::vector<std::string_view> out;
  for (auto& f : all)
    if (f.section == section)
      out.push_back(f.key);
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string env_name(std::string_view section, std::string_view key) {
  return "TROUPE_" + upper(section) + "_" + upper(key);
}

namespace {
template <std::size_t... I>
std::string_view type_name_at(std::size_t index, std::index_sequence<I...>) {
  constexpr std::string_view names[] = {type_name<std::variant_alternative_t<I, app_settings::value>>()...};
  return names[index];
}
}  // namespace

std::string_view type_name_of(std::size_t index) {
  return type_name_at(index, std::make_index_sequence<std::variant_size_v<app_settings::value>>{});
}

std::string a(std::string_view type_name) {
  bool vowel = !type_name.empty() && std::string_view("aeiou").find(type_name[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(type_name);
}

app_settings::setting* app_access::find(app_settings& app, std::string_view section, std::string_view key) {
  for (auto& s : app.settings_)
    if (s.section == section && s.key == key)
      return &s;
  return nullptr;
}

const app_settings::setting* app_access::find(const app_settings& app, std::string_view section,
                                              std::string_view key) {
  return find(const_cast<app_settings&>(app), section, key);
}

std::string suggestion(std::string_view name, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  size_t best_d = SIZE_MAX;
  for (auto c : candidates) {
    auto d = edit_distance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  if (best_d <= std::max<size_t>(2, name.size() / 3))
    return " (did you mean '" + std::string(best) + "'?)";
  return {};
}

std::optional<violation> first_violation(const config& cfg) {
  if (cfg.server.max_inflight_anonymous > cfg.server.max_inflight)
    return violation{"server", "max_inflight_anonymous", "is above [server] max_inflight (a share of it)"};
  auto& t = cfg.tls;
  if (!t.key.empty() && t.cert.empty())
    return violation{"tls", "key", "set without [tls] cert (TLS needs both)"};
  if (!t.cert.empty() && t.key.empty())
    return violation{"tls", "cert", "set without [tls] key (TLS needs both)"};
  if (!t.client_ca.empty() && t.cert.empty())
    return violation{"tls", "client_ca", "needs [tls] cert and key (client certificates need TLS)"};
  if (t.require_client_cert && t.client_ca.empty())
    return violation{"tls", "require_client_cert", "needs [tls] client_ca to verify client certificates"};
  return std::nullopt;
}

}  // namespace troupe::schema
