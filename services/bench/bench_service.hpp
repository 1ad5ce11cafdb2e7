#pragma once

#include <troupe/config.hpp>
#include <troupe/service.hpp>

namespace troupe::services {

// bench.v1.Bench: the load-test contract shared with the peer servers
// (proto/bench/v1/bench.proto), served by `troupe serve` only with [server]
// bench_service on. With `pool`, Unary also honours request metadata
// "bench-db-ms: N" (a slow query on the pool); without it such calls fail with
// FAILED_PRECONDITION. A ServerStream request whose messages would be larger
// than `max_send_message_bytes` (the server's limit) fails with
// INVALID_ARGUMENT before anything is allocated.
troupe::service bench_service(caf::actor pool = {},
                              int max_send_message_bytes = server_config{}.max_send_message_bytes);

}  // namespace troupe::services
