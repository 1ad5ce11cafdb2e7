// Every request message of the served contracts through Troupe's own parse
// path (detail::parse over a gRPC byte buffer), as a hostile client sends it.
// The first byte picks the message type. What parses must serialise and parse
// back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include <google/protobuf/stubs/logging.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <troupe/detail/codec.hpp>

#include "bench/v1/bench.pb.h"
#include "demo/v1/chat.pb.h"
#include "demo/v1/events.pb.h"
#include "demo/v1/logs.pb.h"
#include "demo/v1/users.pb.h"
#include "grpc/health/v1/health.pb.h"

namespace {

template <class T>
void round_trip(const uint8_t* data, size_t size) {
  grpc::Slice slice(data, size);
  grpc::ByteBuffer bytes(&slice, 1);
  T msg;
  if (!troupe::detail::parse(bytes, msg))
    return;
  auto once = msg.SerializeAsString();
  auto again = troupe::detail::serialize(msg);  // what parsed is far below 2 GiB
  T back;
  if (!again || !troupe::detail::parse(*again, back) || back.SerializeAsString() != once)
    __builtin_trap();
}

using parser = void (*)(const uint8_t*, size_t);

constexpr parser parsers[] = {
  round_trip<bench::v1::Payload>,
  round_trip<bench::v1::StreamRequest>,
  round_trip<demo::v1::CreateUserRequest>,
  round_trip<demo::v1::GetUserRequest>,
  round_trip<demo::v1::StreamUsersRequest>,
  round_trip<demo::v1::PublishEventRequest>,
  round_trip<demo::v1::StreamEventsRequest>,
  round_trip<demo::v1::LogEntry>,
  round_trip<demo::v1::ChatMessage>,
  round_trip<grpc::health::v1::HealthCheckRequest>,
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // protobuf logs every invalid UTF-8 string it refuses; the fuzzer makes millions.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  parsers[data[0] % std::size(parsers)](data + 1, size - 1);
  return 0;
}
