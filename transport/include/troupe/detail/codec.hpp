// Protobuf <-> gRPC byte buffers, on the call actor's thread.
#pragma once

#include <optional>

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/byte_buffer.h>

namespace troupe::detail {

// The message's bytes, or nullopt when protobuf cannot serialise it (a
// message over 2 GiB: gRPC's serialiser refuses it, and protobuf logs why).
// The endpoint's write() and reply() take the result as it is, so every RPC
// kind ends such a call with INTERNAL the same way.
template <class T>
std::optional<grpc::ByteBuffer> serialize(const T& msg) {
  grpc::ByteBuffer bytes;
  bool own = false;
  if (!grpc::SerializationTraits<T>::Serialize(msg, &bytes, &own).ok())
    return std::nullopt;
  return bytes;
}

template <class T>
bool parse(grpc::ByteBuffer& bytes, T& out) {
  return grpc::SerializationTraits<T>::Deserialize(&bytes, &out).ok();
}

}  // namespace troupe::detail
