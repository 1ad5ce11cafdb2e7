// Runs one scenario against a target and gathers what it measured, including
// the server's own CPU and memory when its pid is known.
#pragma once

#include "options.h"
#include "results.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bench_client {

struct server_report {
  int pid = 0;
  // CPU the server used over the measured window (user + system).
  double cpu_s = -1;
  int64_t rss_kb_start = -1;
  int64_t rss_kb_peak = -1;
  int64_t rss_kb_end = -1;
  // open-streams: with every stream established, and after they were cancelled.
  int64_t rss_kb_open = -1;
  int64_t rss_kb_released = -1;
  // Seconds since the start, KiB.
  std::vector<std::pair<double, int64_t>> rss_series;
};

struct run_report {
  options opts;
  int channels = 0;
  int threads = 0;
  results_by_kind kinds;
  // Length of the measured window.
  double elapsed_s = 0;
  // Open loop: calls due but never started when the run ended (server too slow).
  uint64_t dropped = 0;
  // Streams that got their headers (open-streams).
  int established = 0;
  std::optional<server_report> server;
  // Set when the run could not be done at all (no connection, streams never opened).
  std::string failure;
  bool connected = false;
};

// `db_load` > 0 adds that many calls, back to back, each holding a database
// worker for --db-ms (Troupe's bench-db-ms); they report as kind "db-load".
run_report run_scenario(const options& opts, bool show_progress, int db_load = 0);

}  // namespace bench_client
