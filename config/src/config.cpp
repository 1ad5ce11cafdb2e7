// Schema-driven TOML loading: every key is declared once in fields(), which
// gives parsing, validation, unknown-key detection and printing.
#include "troupe/config.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <vector>

#include <toml++/toml.h>

namespace troupe {
namespace {

using checker = std::function<std::string(const config&)>;

struct field {
  std::string_view section;
  std::string_view key;
  std::string_view type;  // "integer", "boolean", "number", "string"
  // Stores the node's value; returns an error text, empty when fine.
  std::function<std::string(const toml::node&, config&)> read;
  std::function<void(const config&, toml::table&)> write;
};

template <class S, class T>
field make_field(std::string_view section, std::string_view key, S config::*sec,
                 T S::*member, std::function<std::string(const T&)> check = {}) {
  field f{section, key, {}, {}, {}};
  if constexpr (std::is_same_v<T, bool>)
    f.type = "boolean";
  else if constexpr (std::is_same_v<T, int>)
    f.type = "integer";
  else if constexpr (std::is_same_v<T, double>)
    f.type = "number";
  else
    f.type = "string";
  f.read = [=, type = f.type](const toml::node& node, config& cfg) -> std::string {
    T value{};
    if constexpr (std::is_same_v<T, int>) {
      auto v = node.value_exact<int64_t>();
      if (!v)
        return "expected an integer";
      if (*v < INT32_MIN || *v > INT32_MAX)
        return "integer out of range";
      value = static_cast<int>(*v);
    } else if constexpr (std::is_same_v<T, double>) {
      if (!node.is_number())
        return "expected a number";
      value = *node.value<double>();
    } else {
      auto v = node.value_exact<T>();
      if (!v)
        return "expected a " + std::string(type);
      value = *v;
    }
    if (check) {
      if (auto err = check(value); !err.empty())
        return err;
    }
    cfg.*sec.*member = value;
    return {};
  };
  f.write = [=](const config& cfg, toml::table& out) {
    auto* tbl = out[section].as_table();
    if (!tbl)
      tbl = out.insert(section, toml::table{}).first->second.as_table();
    if constexpr (std::is_same_v<T, int>)
      tbl->insert(key, static_cast<int64_t>(cfg.*sec.*member));
    else
      tbl->insert(key, cfg.*sec.*member);
  };
  return f;
}

std::function<std::string(const int&)> in_range(int lo, int hi) {
  return [=](const int& v) -> std::string {
    if (v < lo || v > hi)
      return "must be between " + std::to_string(lo) + " and " + std::to_string(hi);
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

const std::vector<field>& fields() {
  using C = config;
  using S = server_config;
  using K = scheduler_config;
  using L = logging_config;
  using D = database_config;
  constexpr int big = 1 << 30;
  static const std::vector<field> all = {
    make_field("server", "host", &C::server, &S::host, not_empty()),
    make_field("server", "port", &C::server, &S::port, in_range(0, 65535)),
    make_field("server", "max_concurrent_streams", &C::server, &S::max_concurrent_streams, in_range(1, big)),
    make_field("server", "max_inflight", &C::server, &S::max_inflight, in_range(1, big)),
    make_field("server", "max_send_message_bytes", &C::server, &S::max_send_message_bytes, in_range(1024, big)),
    make_field("server", "max_receive_message_bytes", &C::server, &S::max_receive_message_bytes, in_range(1024, big)),
    make_field<S, double>("server", "shutdown_grace_s", &C::server, &S::shutdown_grace_s,
      [](const double& v) -> std::string { return v < 0 || v > 3600 ? "must be between 0 and 3600" : ""; }),
    make_field("server", "reflection", &C::server, &S::reflection),
    make_field("server", "health_check", &C::server, &S::health_check),
    make_field("server", "transport_threads", &C::server, &S::transport_threads, in_range(0, 256)),
    make_field("server", "write_window", &C::server, &S::write_window, in_range(1, 65536)),
    make_field("server", "read_window", &C::server, &S::read_window, in_range(1, 65536)),
    make_field("scheduler", "max_threads", &C::scheduler, &K::max_threads, in_range(0, 1024)),
    make_field("scheduler", "policy", &C::scheduler, &K::policy, one_of({"sharing", "stealing"})),
    make_field("scheduler", "max_throughput", &C::scheduler, &K::max_throughput, in_range(1, big)),
    make_field("logging", "level", &C::logging, &L::level,
               one_of({"trace", "debug", "info", "warn", "error", "critical", "off"})),
    make_field("database", "url", &C::database, &D::url, not_empty()),
    make_field("database", "workers", &C::database, &D::workers, in_range(1, 1024)),
    make_field("database", "queue", &C::database, &D::queue, in_range(0, big)),
    make_field("database", "job_timeout_ms", &C::database, &D::job_timeout_ms, in_range(1, big)),
  };
  return all;
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

// " (did you mean 'x'?)" for the closest candidate, when it is close enough.
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

std::string where(const std::string& source, const toml::source_region& r) {
  std::ostringstream os;
  os << source << ':' << r.begin.line << ':' << r.begin.column;
  return os.str();
}

}  // namespace

config parse_config(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << where(source, e.source()) << ": TOML syntax error: " << e.description();
    throw config_error(os.str());
  }
  config cfg;
  std::vector<std::string_view> sections;
  for (auto& f : fields())
    if (std::find(sections.begin(), sections.end(), f.section) == sections.end())
      sections.push_back(f.section);
  for (auto& [name, node] : root) {
    auto sec = name.str();
    if (std::find(sections.begin(), sections.end(), sec) == sections.end())
      throw config_error(where(source, node.source()) + ": [" + std::string(sec) +
                         "]: unknown section" + suggestion(sec, sections));
    auto* tbl = node.as_table();
    if (!tbl)
      throw config_error(where(source, node.source()) + ": " + std::string(sec) +
                         ": expected a table [" + std::string(sec) + "]");
    std::vector<std::string_view> keys;
    for (auto& f : fields())
      if (f.section == sec)
        keys.push_back(f.key);
    for (auto& [key_name, value] : *tbl) {
      auto key = key_name.str();
      auto it = std::find_if(fields().begin(), fields().end(),
                             [&](const field& f) { return f.section == sec && f.key == key; });
      if (it == fields().end())
        throw config_error(where(source, key_name.source()) + ": [" + std::string(sec) + "] " +
                           std::string(key) + ": unknown key" + suggestion(key, keys));
      if (auto err = it->read(value, cfg); !err.empty())
        throw config_error(where(source, value.source()) + ": [" + std::string(sec) + "] " +
                           std::string(key) + ": " + err);
    }
  }
  return cfg;
}

config load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error(path + ": cannot read config file: " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad())
    throw config_error(path + ": cannot read config file: " + std::strerror(errno));
  return parse_config(buf.str(), path);
}

std::string to_toml(const config& cfg) {
  toml::table out;
  for (auto& f : fields())
    f.write(cfg, out);
  std::ostringstream os;
  os << out << '\n';
  return os.str();
}

}  // namespace troupe
