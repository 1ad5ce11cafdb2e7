// db-saturation: does a saturated database pool slow calls that never touch
// the database? Bench/Unary at --concurrency (or --rate) runs twice against
// the same server: alone, then beside --db-load calls that each hold a
// database worker for --db-ms (request metadata bench-db-ms, Troupe only).
#pragma once

#include "runner.h"

namespace bench_client {

// One report for both phases: kinds "unary-alone", "unary-saturated" and
// "db-load"; the server's figures are those of the saturated phase.
run_report run_db_saturation(const options& opts, bool show_progress);

// The saturated phase's unary p99 over the unloaded one's; 0 when either is missing.
double saturation_p99_ratio(const run_report& rep);

}  // namespace bench_client
