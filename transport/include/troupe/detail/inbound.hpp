#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <grpcpp/support/byte_buffer.h>

namespace troupe::detail {

// One request message of a client stream or bidi stream, still serialised: the
// call actor parses it, so parsing runs on the actor's thread, not gRPC's.
struct inbound {
  grpc::ByteBuffer bytes;
};

}  // namespace troupe::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::detail::inbound)
