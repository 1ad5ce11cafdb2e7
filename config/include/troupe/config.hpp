// Troupe's typed configuration, loaded from TOML (see config/troupe.toml and
// docs/configuration.md for every key with its default and meaning).
//
// Precedence, lowest first: defaults, the TOML file, environment variables
// TROUPE_<SECTION>_<KEY>, command-line flags. Every source goes through the
// same schema, so a value is checked the same way wherever it comes from.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace troupe {

struct server_config {
  std::string host = "127.0.0.1";
  int port = 50051;  // 0: the OS picks a free port
  // HTTP/2 streams one connection may have open (a grpc channel arg).
  int max_concurrent_streams = 1000;
  // Calls in flight over the whole server; beyond it RESOURCE_EXHAUSTED at once.
  int max_inflight = 10000;
  // Of those, calls without an API key (public methods such as health Watch,
  // or anonymous calls when [auth] require_auth is off) — so long-lived
  // anonymous streams cannot lock keyed callers out. 0: max_inflight / 10
  // (at least 1). Not applied while [auth] is off: every call is anonymous then.
  int max_inflight_anonymous = 0;
  int max_send_message_bytes = 4 * 1024 * 1024;
  int max_receive_message_bytes = 4 * 1024 * 1024;
  // Ping an idle connection after this long; drop it when the ping is not
  // answered within the timeout. 0 turns server pings off.
  double keepalive_time_s = 30.0;
  double keepalive_timeout_s = 10.0;
  // Ping (and let clients ping) connections that have no call open.
  bool keepalive_permit_without_calls = true;
  // Close connections idle this long / older than this; 0: never.
  double max_connection_idle_s = 0.0;
  double max_connection_age_s = 0.0;
  double shutdown_grace_s = 10.0;
  bool reflection = true;
  bool health_check = true;
  // bench.v1.Bench, the load-test service: each call may allocate up to
  // max_send_message_bytes and hold a database worker, so it is opt-in.
  bool bench_service = false;
  // gRPC's own debug log lines too (with [logging] level debug to see them).
  bool debug = false;
  // Threads polling gRPC completion queues; 0 means one per core.
  int transport_threads = 0;
  // Messages a stream may have queued for sending before its producer is paused.
  int write_window = 128;
  // Bytes a stream may have queued before its producer is paused.
  int write_window_bytes = 1024 * 1024;
  // Messages read ahead of a handler on client streams.
  int read_window = 4;

  // The cap on anonymous calls in flight, with 0 resolved.
  int anonymous_inflight_limit() const {
    return max_inflight_anonymous > 0 ? max_inflight_anonymous : std::max(1, max_inflight / 10);
  }
};

struct scheduler_config {
  int max_threads = 0;              // 0: one per core
  std::string policy = "sharing";   // sharing | stealing
  int max_throughput = 300;         // messages an actor handles before yielding
};

struct database_config {
  std::string url = "sqlite://var/troupe.db";
  int workers = 4;          // blocking-worker actors, one connection each
  int queue = 256;          // jobs waiting for a worker before calls are refused
  int job_timeout_ms = 5000;
};

// The threads that run troupe::blocking(fn) handlers: blocking work that needs
// no database (an HTTP call to another service, a file). Handlers given a
// database pool run on its workers instead.
struct blocking_config {
  int threads = 8;             // each runs one handler at a time
  int queue = 256;             // handlers waiting for a thread before calls are refused
  int job_timeout_ms = 30000;  // a handler's writer gives up waiting for its client after this
};

// API keys in request metadata, checked before a call reaches its actor.
struct auth_config {
  bool enabled = false;       // check keys that calls send
  bool require_auth = false;  // refuse calls without a valid key (implies enabled)
  std::string header = "x-api-key";
  double cache_ttl_s = 30.0;  // a key look-up is trusted this long (revocation delay)
  int max_failures = 10;      // unknown-key look-ups one client address may fail per window ...
  double failure_window_s = 60.0;  // ... before its unknown keys get RESOURCE_EXHAUSTED

  // Full method paths ("/package.Service/Method") callable without a key.
  std::vector<std::string> public_methods = {
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
  };

  bool checks_keys() const { return enabled || require_auth; }
};

struct logging_config {
  std::string level = "info";         // trace | debug | info | warn | error | critical | off
  std::string format = "text";        // text | json (one object per line)
  std::string request_log = "off";    // off | errors | all: per-call lines and request_log rows
  int request_log_retention_days = 30;  // rows older are deleted (hourly); 0 keeps them all
};

// TLS is on when cert and key are set; with client_ca, clients present
// certificates signed by it (required when require_client_cert).
struct tls_config {
  std::string cert;       // PEM certificate chain
  std::string key;        // PEM private key
  std::string client_ca;  // PEM CA bundle that client certificates must chain to
  bool require_client_cert = false;

  bool enabled() const { return !cert.empty(); }
};

namespace schema {
struct app_access;
}

namespace detail {
// The type a declared key stores for a default of type T.
template <class T, class = void>
struct app_setting_type {};
template <>
struct app_setting_type<bool> { using type = bool; };
template <class T>
struct app_setting_type<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                                            !std::is_same_v<T, char>>> { using type = std::int64_t; };
template <class T>
struct app_setting_type<T, std::enable_if_t<std::is_floating_point_v<T>>> { using type = double; };
template <>
struct app_setting_type<std::string> { using type = std::string; };
template <>
struct app_setting_type<const char*> { using type = std::string; };
template <>
struct app_setting_type<char*> { using type = std::string; };
template <>
struct app_setting_type<std::string_view> { using type = std::string; };
template <>
struct app_setting_type<std::vector<std::string>> { using type = std::vector<std::string>; };
}  // namespace detail

// Settings an application declares for TOML sections of its own ([notes] ...),
// loaded, overridden (TROUPE_NOTES_GREETING, set_value) and printed exactly
// like Troupe's keys, through the same schema. troupe::app exposes it; a
// program using the config library directly declares keys, passes them to
// load_config / parse_config and reads config::app:
//
//   troupe::app_settings declared;
//   declared.declare("notes", "greeting", "hello")
//           .declare("notes", "max_notes", 100, [](const std::int64_t& n) {
//              return n > 0 ? "" : "must be above 0"; });
//   auto cfg = troupe::load_config("notes.toml", declared);
//   cfg.app.get<std::string>("notes", "greeting");
class app_settings {
public:
  // A key's type is one of these: bool, integer, number, string, array of strings.
  using value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>>;
  // The type a key declared with a default of type T has: bool; int64_t for
  // any integer (an `int` default too); double for float and double;
  // std::string for std::string, string_view and const char*;
  // std::vector<std::string>.
  template <class T>
  using type_of = typename detail::app_setting_type<T>::type;

  struct setting {
    std::string section;
    std::string key;
    std::string help;  // one line for the app's documentation; not checked
    value default_value;
    value current;     // the default, then the file, the environment, a flag
    // An error text for a value of the key's type, empty when fine; null: any value.
    std::function<std::string(const value&)> check;
  };

  // Declares [section] key with its default; the default's type is the key's
  // type (type_of<T>). `check` returns an error text, empty when fine; it
  // is applied to every value from the file, the environment and flags, and
  // to the default here. Throws std::invalid_argument naming the section or
  // key when: the section is one of Troupe's own ([server], [database], ...,
  // compared ignoring case), a name is not a TOML bare key (A-Z a-z 0-9 _ -),
  // the key is declared already, its TROUPE_<SECTION>_<KEY> variable would be
  // another key's, or the default fails the check.
  template <class T>
  app_settings& declare(std::string section, std::string key, T default_value,
                        std::function<std::string(const type_of<T>&)> check = {}, std::string help = {}) {
    using S = type_of<T>;
    setting s{std::move(section), std::move(key), std::move(help), value(S(std::move(default_value))), {}, {}};
    s.current = s.default_value;
    if (check)
      s.check = [check = std::move(check)](const value& v) { return check(std::get<S>(v)); };
    return add(std::move(s));
  }

  // The key's value. T is the stored type: bool, std::int64_t, double,
  // std::string or std::vector<std::string>. Throws std::logic_error naming
  // [section] key when it was not declared, or not with that type (a
  // programming error: declarations are fixed before loading).
  template <class T>
  const T& get(std::string_view section, std::string_view key) const {
    constexpr std::size_t index = value_index<T>();
    static_assert(index < std::variant_size_v<value>,
                  "app_settings::get<T>: T is bool, std::int64_t, double, std::string or "
                  "std::vector<std::string> (an int key is std::int64_t)");
    return std::get<index>(current_of(section, key, index));
  }

  // Every declared key, in declaration order.
  const std::vector<setting>& settings() const { return settings_; }
  bool empty() const { return settings_.empty(); }

private:
  friend struct schema::app_access;

  template <class T, std::size_t I = 0>
  static constexpr std::size_t value_index() {
    if constexpr (I == std::variant_size_v<value>)
      return I;
    else if constexpr (std::is_same_v<T, std::variant_alternative_t<I, value>>)
      return I;
    else
      return value_index<T, I + 1>();
  }

  app_settings& add(setting s);
  // The key's current value; throws std::logic_error unless it holds alternative `index`.
  const value& current_of(std::string_view section, std::string_view key, std::size_t index) const;

  std::vector<setting> settings_;
};

struct config {
  server_config server;
  scheduler_config scheduler;
  database_config database;
  blocking_config blocking;
  auth_config auth;
  logging_config logging;
  tls_config tls;
  // The application's own sections: what was declared, with the values loaded.
  // Empty unless load_config / parse_config were given declarations (or they
  // were assigned: `cfg.app = declared;` starts from their defaults).
  app_settings app;
};

// A configuration that cannot be used; what() is one line naming where the
// value came from and the key: "troupe.toml:3:1: [server] prot: unknown key ...",
// "TROUPE_SERVER_PORT: [server] port: expected an integer (got 'x')".
// Control characters from the input (a newline inside a quoted value, say)
// are shown escaped, so the message stays one line whatever the file holds.
class config_error : public std::runtime_error {
public:
  explicit config_error(const std::string& message);
};

// Reads and validates a TOML file. `declared`: the application's own
// sections, allowed in the file besides Troupe's; the result's `app` starts
// from their defaults. Throws config_error.
config load_config(const std::string& path, const app_settings& declared = {});

// Validates TOML text; `source` names it in errors. Throws config_error.
config parse_config(std::string_view toml, const std::string& source, const app_settings& declared = {});

// Sets one key from text, as given on a command line or in the environment:
// strings as they are, arrays comma-separated, other kinds as TOML values
// ("8", "2.5", "true"). Troupe's keys and those declared in cfg.app.
// `origin` names the source in errors. Throws config_error; std::logic_error
// for a key that does not exist.
void set_value(config& cfg, std::string_view section, std::string_view key,
               std::string_view text, const std::string& origin);

// Applies every TROUPE_<SECTION>_<KEY> variable of `environment` (NAME=VALUE
// entries, as in environ), for Troupe's keys and those declared in cfg.app.
// A variable naming a known section but no known key is an error (with a
// suggestion); other TROUPE_ variables are left alone.
void apply_environment(config& cfg, const std::vector<std::string>& environment);

// This process's environment, for apply_environment.
std::vector<std::string> process_environment();

// Checks rules that span keys ([tls] key needs cert, ...). parse_config runs
// it too; run it again after overrides. Throws config_error.
void validate(const config& cfg);

// The effective configuration as TOML, every key present: Troupe's sections,
// then those declared in cfg.app, in the order they were first declared.
std::string to_toml(const config& cfg);

// Every key of Troupe's own, as {section, key}, in the order of troupe.toml
// (declared keys are not Troupe's to document: see app_settings::settings()).
std::vector<std::pair<std::string, std::string>> config_keys();

}  // namespace troupe
