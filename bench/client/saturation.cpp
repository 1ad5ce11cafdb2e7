#include "saturation.h"

#include <cstdio>

namespace bench_client {

namespace {

// Moves kind `from` of `rep` to `into` under the name `to`.
void take_kind(run_report& rep, const std::string& from, results_by_kind& into,
               const std::string& to) {
  if (auto it = rep.kinds.find(from); it != rep.kinds.end())
    into[to] = std::move(it->second);
}

}  // namespace

run_report run_db_saturation(const options& o, bool show_progress) {
  options phase = o;
  phase.scenario = "unary";
  if (show_progress)
    std::fprintf(stderr, "db-saturation: unary alone\n");
  auto alone = run_scenario(phase, show_progress);
  if (!alone.failure.empty()) {
    alone.opts = o;
    return alone;
  }
  if (show_progress)
    std::fprintf(stderr, "db-saturation: unary beside %d calls of %d ms queries\n", o.db_load,
                 o.db_ms);
  auto saturated = run_scenario(phase, show_progress, o.db_load);
  run_report rep = std::move(saturated);
  rep.opts = o;
  results_by_kind kinds;
  take_kind(alone, "unary", kinds, "unary-alone");
  take_kind(rep, "unary", kinds, "unary-saturated");
  take_kind(rep, "db-load", kinds, "db-load");
  rep.kinds = std::move(kinds);
  rep.dropped += alone.dropped;
  return rep;
}

double saturation_p99_ratio(const run_report& rep) {
  const auto alone = rep.kinds.find("unary-alone");
  const auto saturated = rep.kinds.find("unary-saturated");
  if (alone == rep.kinds.end() || saturated == rep.kinds.end() || !alone->second.latency.count() ||
      !saturated->second.latency.count()) {
    return 0;
  }
  return static_cast<double>(saturated->second.latency.quantile(0.99)) /
         static_cast<double>(alone->second.latency.quantile(0.99));
}

}  // namespace bench_client
