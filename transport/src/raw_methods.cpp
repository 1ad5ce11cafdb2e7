#include "raw_methods.hpp"

#include <grpcpp/impl/rpc_service_method.h>

namespace troupe::detail {

namespace {

// Client streams are registered as bidi: both read their requests with Read,
// and gRPC treats the two alike on the server.
grpc::internal::RpcMethod::RpcType rpc_type(rpc_kind k) {
  switch (k) {
    case rpc_kind::unary:
      return grpc::internal::RpcMethod::NORMAL_RPC;
    case rpc_kind::server_stream:
      return grpc::internal::RpcMethod::SERVER_STREAMING;
    case rpc_kind::client_stream:
    case rpc_kind::bidi:
      break;
  }
  return grpc::internal::RpcMethod::BIDI_STREAMING;
}

}  // namespace

int raw_methods::add(const method_binding& m) {
  int index = size();
  AddMethod(new grpc::internal::RpcServiceMethod(m.path.c_str(), rpc_type(m.kind), nullptr));
  MarkMethodRaw(index);
  bindings_.push_back(&m);
  return index;
}

void raw_methods::request(int index, grpc::ServerContext* ctx, grpc::ByteBuffer* request,
                          grpc::internal::ServerAsyncStreamingInterface* stream, grpc::ServerCompletionQueue* cq,
                          void* tag) {
  switch (binding(index).kind) {
    case rpc_kind::unary:
      RequestAsyncUnary(index, ctx, request, stream, cq, cq, tag);
      return;
    case rpc_kind::server_stream:
      RequestAsyncServerStreaming(index, ctx, request, stream, cq, cq, tag);
      return;
    case rpc_kind::client_stream:
    case rpc_kind::bidi:
      RequestAsyncBidiStreaming(index, ctx, stream, cq, cq, tag);
      return;
  }
}

}  // namespace troupe::detail
