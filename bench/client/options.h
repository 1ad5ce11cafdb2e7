// Everything a troupe-bench run is told on its command line.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bench_client {

// Scenarios a run can be asked for. `db` and `db-saturation` need Troupe: they
// call the demo services and the Bench service's bench-db-ms extra.
inline const std::vector<std::string> scenario_names{
    "unary", "server-stream", "client-stream", "bidi", "open-streams", "slow-reader", "mixed",
    "db", "db-saturation"};

struct options {
  std::string target = "127.0.0.1:50051";
  std::string scenario = "unary";
  // Calls (or held streams) in flight at once.
  int concurrency = 64;
  // Distinct connections; 0 means min(concurrency, 16).
  int channels = 0;
  // Client completion-queue threads. One keeps the client's share of a small
  // machine low; the server is what is measured.
  int threads = 1;
  double duration_s = 5.0;
  // When > 0, a fixed number of calls (messages for bidi) replaces --duration.
  int64_t count = 0;
  int payload = 16;
  double warmup_s = 1.0;
  // Calls per second started on schedule (open loop); 0 = closed loop.
  double rate = 0.0;
  std::string json_path;
  int server_pid = 0;
  bool smoke = false;
  // "ping-pong" (one message in flight per stream) or "pipelined".
  std::string bidi_mode = "ping-pong";
  // Messages in flight per pipelined bidi stream.
  int window = 16;
  // Messages per ServerStream / ClientStream call; log entries per UploadLogs.
  int stream_messages = 100;
  // Unary only: ask the server for this delay (request metadata bench-delay-ms).
  int delay_ms = 0;
  // slow-reader: pause between two reads.
  int read_interval_ms = 10;
  // Deadline of every call; held streams get it on top of the run's length.
  int timeout_ms = 10000;
  // db: "get-user" (on users created before the run), "get-user-sync" (the
  // same through GetUserSync, a sync handler) or "upload-logs".
  std::string db_method = "get-user";
  // db get-user: users created (CreateUser) before the run.
  int db_users = 1000;
  // db-saturation: length of each slow query, and calls keeping them coming.
  // More calls than the pool has workers keep a queue, so no worker idles.
  int db_ms = 50;
  int db_load = 16;
  // Request metadata sent with every call (--metadata KEY=VALUE), e.g. x-api-key.
  std::vector<std::pair<std::string, std::string>> metadata;
  // Free text stored in the JSON (run.sh puts the server's name here).
  std::string label;
};

}  // namespace bench_client
