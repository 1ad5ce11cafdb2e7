// --smoke: a few seconds of every scenario at low concurrency against a
// running server, plus the contract's corner cases; non-zero on any error.
#pragma once

#include "options.h"

namespace bench_client {

int run_smoke(const options& base);

}  // namespace bench_client
