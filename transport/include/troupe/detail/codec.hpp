// Protobuf <-> gRPC byte buffers, on the call actor's thread.
#pragma once

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/byte_buffer.h>

namespace troupe::detail {

template <class T>
grpc::ByteBuffer serialize(const T& msg) {
  grpc::ByteBuffer bytes;
  bool own = false;
  // Fails only for messages over 2 GiB, which the size limits refuse earlier.
  (void)grpc::SerializationTraits<T>::Serialize(msg, &bytes, &own);
  return bytes;
}

template <class T>
bool parse(grpc::ByteBuffer& bytes, T& out) {
  return grpc::SerializationTraits<T>::Deserialize(&bytes, &out).ok();
}

}  // namespace troupe::detail
