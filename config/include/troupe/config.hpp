// Troupe's typed configuration, loaded from TOML (see config/troupe.toml for
// every key with its default and meaning).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace troupe {

struct server_config {
  std::string host = "127.0.0.1";
  int port = 50051;  // 0: the OS picks a free port
  // HTTP/2 streams one connection may have open (a grpc channel arg).
  int max_concurrent_streams = 1000;
  // Calls in flight over the whole server; beyond it RESOURCE_EXHAUSTED at once.
  int max_inflight = 10000;
  int max_send_message_bytes = 4 * 1024 * 1024;
  int max_receive_message_bytes = 4 * 1024 * 1024;
  double shutdown_grace_s = 10.0;
  bool reflection = true;
  bool health_check = true;
  // Threads polling gRPC completion queues; 0 means one per core.
  int transport_threads = 0;
  // Messages a stream may have queued for sending before its producer is paused.
  int write_window = 32;
  // Messages read ahead of a handler on client streams.
  int read_window = 4;
};

struct scheduler_config {
  int max_threads = 0;              // 0: one per core
  std::string policy = "sharing";   // sharing | stealing
  int max_throughput = 300;         // messages an actor handles before yielding
};

struct logging_config {
  std::string level = "info";  // trace | debug | info | warn | error | critical | off
};

struct database_config {
  std::string url = "sqlite://var/troupe.db";
  int workers = 4;          // blocking-worker actors, one connection each
  int queue = 256;          // jobs waiting for a worker before calls are refused
  int job_timeout_ms = 5000;
};

struct config {
  server_config server;
  scheduler_config scheduler;
  logging_config logging;
  database_config database;
};

// A configuration that cannot be used; what() is one line naming the file,
// line, column and key where known: "troupe.toml:3:1: [server] prot: unknown key ...".
class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Reads and validates a TOML file. Throws config_error.
config load_config(const std::string& path);

// Validates TOML text; `source` names it in errors. Throws config_error.
config parse_config(std::string_view toml, const std::string& source);

// The effective configuration as TOML, every key present.
std::string to_toml(const config& cfg);

}  // namespace troupe
