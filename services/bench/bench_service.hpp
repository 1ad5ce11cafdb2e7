#pragma once

#include <troupe/service.hpp>

namespace troupe::services {

// bench.v1.Bench: the load-test contract shared with the peer servers
// (proto/bench/v1/bench.proto), always served by `troupe serve`.
troupe::service bench_service();

}  // namespace troupe::services
