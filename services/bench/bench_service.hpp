#pragma once

#include <troupe/service.hpp>

namespace troupe::services {

// bench.v1.Bench: the load-test contract shared with the peer servers
// (proto/bench/v1/bench.proto), always served by `troupe serve`. With `pool`,
// Unary also honours request metadata "bench-db-ms: N" (a slow query on the
// pool); without it such calls fail with FAILED_PRECONDITION.
troupe::service bench_service(caf::actor pool = {});

}  // namespace troupe::services
