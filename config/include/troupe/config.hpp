// Troupe's typed configuration, loaded from TOML (see config/troupe.toml and
// docs/configuration.md for every key with its default and meaning).
//
// Precedence, lowest first: defaults, the TOML file, environment variables
// TROUPE_<SECTION>_<KEY>, command-line flags. Every source goes through the
// same schema, so a value is checked the same way wherever it comes from.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
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

struct config {
  server_config server;
  scheduler_config scheduler;
  database_config database;
  blocking_config blocking;
  auth_config auth;
  logging_config logging;
  tls_config tls;
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

// Reads and validates a TOML file. Throws config_error.
config load_config(const std::string& path);

// Validates TOML text; `source` names it in errors. Throws config_error.
config parse_config(std::string_view toml, const std::string& source);

// Sets one key from text, as given on a command line or in the environment:
// strings as they are, arrays comma-separated, other kinds as TOML values
// ("8", "2.5", "true"). `origin` names the source in errors. Throws config_error.
void set_value(config& cfg, std::string_view section, std::string_view key,
               std::string_view text, const std::string& origin);

// Applies every TROUPE_<SECTION>_<KEY> variable of `environment` (NAME=VALUE
// entries, as in environ). A variable naming a known section but no known key
// is an error (with a suggestion); other TROUPE_ variables are left alone.
void apply_environment(config& cfg, const std::vector<std::string>& environment);

// This process's environment, for apply_environment.
std::vector<std::string> process_environment();

// Checks rules that span keys ([tls] key needs cert, ...). parse_config runs
// it too; run it again after overrides. Throws config_error.
void validate(const config& cfg);

// The effective configuration as TOML, every key present.
std::string to_toml(const config& cfg);

// Every key the schema knows, as {section, key}, in the order of troupe.toml.
std::vector<std::pair<std::string, std::string>> config_keys();

}  // namespace troupe
