// The kinds of slot, one per way of using the Bench service, and the factory
// that picks them for a scenario.
#pragma once

#include "engine.h"

#include <cstring>
#include <string>

namespace bench_client {

// Payload bytes for message `sequence`: the sequence number first, so that an
// echo of another call's message (or a stale one) never compares equal.
inline void fill_payload(std::string& data, size_t size, uint64_t sequence) {
  data.assign(size, 'p');
  std::memcpy(data.data(), &sequence, std::min(size, sizeof sequence));
}

std::unique_ptr<slot> make_unary_slot(worker& w, bench::v1::Bench::Stub& stub);
std::unique_ptr<slot> make_server_stream_slot(worker& w, bench::v1::Bench::Stub& stub,
                                              int messages);
std::unique_ptr<slot> make_client_stream_slot(worker& w, bench::v1::Bench::Stub& stub,
                                              int messages);
// `window` messages in flight (1 = ping-pong); `limit` messages per stream,
// 0 = one stream held until the run stops.
std::unique_ptr<slot> make_bidi_slot(worker& w, bench::v1::Bench::Stub& stub, int window,
                                     int limit);
std::unique_ptr<slot> make_idle_stream_slot(worker& w, bench::v1::Bench::Stub& stub);
std::unique_ptr<slot> make_slow_reader_slot(worker& w, bench::v1::Bench::Stub& stub);
std::unique_ptr<slot> make_mixed_slot(worker& w, bench::v1::Bench::Stub& stub);

// The slot a scenario runs in each unit of concurrency.
std::unique_ptr<slot> make_slot(const std::string& scenario, worker& w,
                                bench::v1::Bench::Stub& stub);

}  // namespace bench_client
