// troupe-bench: load and correctness client for the bench.v1.Bench contract.
// Drives many calls in flight over several connections from grpc++
// completion queues and reports throughput, latency, errors and, given the
// server's pid, its CPU and memory.
#include "call_metadata.h"
#include "options.h"
#include "output.h"
#include "runner.h"
#include "saturation.h"
#include "smoke.h"

#include <CLI/CLI.hpp>

#include <cstdio>

namespace {

using bench_client::options;

// Combinations the scenarios cannot honour are refused rather than ignored.
std::string validate(const options& o) {
  const bool holds_streams =
      o.scenario == "open-streams" || o.scenario == "slow-reader" || o.scenario == "bidi";
  if (o.rate > 0 && holds_streams)
    return "--rate needs a scenario made of calls (unary, server-stream, client-stream, mixed, db, "
           "db-saturation)";
  if (o.count > 0 && (o.scenario == "open-streams" || o.scenario == "slow-reader" ||
                      o.scenario == "db-saturation")) {
    return "--count does not apply to " + o.scenario + " (use --duration)";
  }
  if (o.scenario == "open-streams" && o.concurrency > 1000 * (o.channels > 0 ? o.channels : 16)) {
    std::fprintf(stderr, "note: more than 1000 streams per connection; servers may limit them\n");
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"troupe-bench: load and correctness client for bench.v1.Bench (and Troupe's demo)"};
  app.add_option("--target", o.target, "server address host:port")->capture_default_str();
  auto* scenario = app.add_option("--scenario", o.scenario, "what to run (with --smoke: only its checks)")
      ->check(CLI::IsMember(bench_client::scenario_names))
      ->capture_default_str();
  app.add_option("--concurrency", o.concurrency, "calls (or held streams) in flight")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--channels", o.channels, "connections (0 = min(concurrency, 16))")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--threads", o.threads, "client completion-queue threads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  auto* duration = app.add_option("--duration", o.duration_s, "measured seconds")
                       ->check(CLI::PositiveNumber)
                       ->capture_default_str();
  app.add_option("--count", o.count, "calls to make instead of --duration (messages for bidi)")
      ->check(CLI::PositiveNumber)
      ->excludes(duration);
  app.add_option("--payload", o.payload, "bytes per message")
      ->check(CLI::Range(0, 4 << 20))
      ->capture_default_str();
  app.add_option("--warmup", o.warmup_s, "seconds run before measuring")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--rate", o.rate, "calls/s started on schedule (open loop); 0 = closed loop")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--json", o.json_path, "also write the results as JSON to this file");
  app.add_option("--server-pid", o.server_pid, "server process (same machine) for CPU and RSS")
      ->check(CLI::PositiveNumber);
  app.add_flag("--smoke", o.smoke,
               "check every scenario briefly at low concurrency; non-zero exit on any error");
  app.add_option("--bidi-mode", o.bidi_mode, "bidi: ping-pong or pipelined")
      ->check(CLI::IsMember({"ping-pong", "pipelined"}))
      ->capture_default_str();
  app.add_option("--window", o.window, "pipelined bidi: messages in flight per stream")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--stream-messages", o.stream_messages,
                 "messages per ServerStream / ClientStream call")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--delay-ms", o.delay_ms, "unary: request metadata bench-delay-ms")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--read-interval-ms", o.read_interval_ms, "slow-reader: pause between reads")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--timeout-ms", o.timeout_ms, "deadline of each call")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option_function<std::vector<std::string>>(
      "--metadata",
      [&o](const std::vector<std::string>& all) {
        for (auto& kv : all) {
          try {
            o.metadata.push_back(bench_client::parse_metadata(kv));
          } catch (const std::invalid_argument& e) {
            throw CLI::ValidationError("--metadata", e.what());
          }
        }
      },
      "request metadata KEY=VALUE sent with every call (repeatable), e.g. x-api-key=KEY");
  app.add_option("--db-method", o.db_method, "db: the demo call to make")
      ->check(CLI::IsMember({"get-user", "get-user-sync", "upload-logs"}))
      ->capture_default_str();
  app.add_option("--db-users", o.db_users, "db get-user: users created before the run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--db-ms", o.db_ms, "db-saturation: length of each slow query (bench-db-ms)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--db-load", o.db_load, "db-saturation: slow-query calls kept in flight")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--label", o.label, "free text stored with the results (e.g. the server's name)");
  CLI11_PARSE(app, argc, argv);

  if (o.smoke)
    return bench_client::run_smoke(o, scenario->count() > 0);
  if (const auto problem = validate(o); !problem.empty()) {
    std::fprintf(stderr, "error: %s\n", problem.c_str());
    return 2;
  }
  const auto rep = o.scenario == "db-saturation" ? bench_client::run_db_saturation(o, true)
                                                 : bench_client::run_scenario(o, true);
  bench_client::print_table(rep);
  if (!o.json_path.empty() && !bench_client::write_json(o.json_path, bench_client::to_json(rep))) {
    std::fprintf(stderr, "error: cannot write %s\n", o.json_path.c_str());
    return 1;
  }
  return rep.failure.empty() ? 0 : 1;
}
