// Troupe's registered methods as one grpc::Service of raw (ByteBuffer) async
// methods. For unary and server-streaming methods gRPC then reads the request
// together with the call: one completion-queue round trip fewer per call than
// a generic stream, which needs a Read after the accept. Paths nobody
// registered still reach the generic service (UNIMPLEMENTED, logged).
#pragma once

#include <vector>

#include <grpcpp/impl/service_type.h>
#include <grpcpp/support/byte_buffer.h>

#include "troupe/detail/method_binding.hpp"

namespace troupe::detail {

class raw_methods final : public grpc::Service {
public:
  // Adds `m` (which must outlive this service: gRPC keeps its path's
  // characters) and returns its index.
  int add(const method_binding& m);

  const method_binding& binding(int index) const { return *bindings_[static_cast<size_t>(index)]; }
  int size() const { return static_cast<int>(bindings_.size()); }

  // Asks for the method's next call. `request` receives the request of a
  // unary or server-streaming call and is unused for the streaming kinds.
  void request(int index, grpc::ServerContext* ctx, grpc::ByteBuffer* request,
               grpc::internal::ServerAsyncStreamingInterface* stream, grpc::ServerCompletionQueue* cq,
               void* tag);

private:
  std::vector<const method_binding*> bindings_;
};

}  // namespace troupe::detail
