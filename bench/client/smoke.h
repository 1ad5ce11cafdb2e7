// --smoke: a few seconds of every bench.v1.Bench scenario at low concurrency
// against a running server, plus the contract's corner cases; non-zero on any
// error. With `only_scenario`, just the checks of base.scenario: the only way
// to reach the Troupe-only ones (db, db-saturation).
#pragma once

#include "options.h"

namespace bench_client {

int run_smoke(const options& base, bool only_scenario);

}  // namespace bench_client
