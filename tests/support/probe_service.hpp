// bench.v1.Bench with instrumented handlers, so tests can see what reaches
// the call actors: cancellations and their reasons, writes produced, the
// largest mailbox a slow handler saw.
#pragma once

#include <atomic>
#include <memory>

#include <troupe/service.hpp>

namespace troupe::test {

struct probe {
  std::atomic<int> cancelled{0};
  std::atomic<int> last_reason{0};    // a troupe::cancel_reason, 0 for none
  std::atomic<int> streams_open{0};   // ServerStream actors that received their request
  std::atomic<long> produced{0};      // ServerStream messages handed to write()
  std::atomic<int> paused{0};         // ServerStream producers waiting for credit
  std::atomic<long> consumed{0};      // ClientStream messages handled
  std::atomic<int> ended{0};          // ClientStream calls that received end_of_input
  std::atomic<size_t> max_unfinished{0};  // most ClientStream requests received, not yet done
  int slow_ms = 0;                    // ClientStream: time each message "takes"
};

// Unary: payload "throw" throws std::runtime_error("secret detail"),
// "not-found" throws status_error(NOT_FOUND), "quit" quits without replying;
// otherwise echoes after "bench-delay-ms". ServerStream: as bench (count < 0
// holds the stream), counting writes. ClientStream: a sequential slow worker
// that pauses its input while each message "takes" slow_ms. Bidi: echo.
troupe::service probe_service(std::shared_ptr<probe> p);

}  // namespace troupe::test
