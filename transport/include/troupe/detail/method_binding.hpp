#pragma once

#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <grpcpp/support/byte_buffer.h>

#include "troupe/detail/rpc_kind.hpp"

namespace troupe::detail {

class call_endpoint;

// Starts the call actor for one call. `request` is the call's only request
// (unary and server streams, read before the actor starts) or null.
using spawn_fn = std::function<caf::actor(caf::actor_system&, std::shared_ptr<call_endpoint>,
                                          grpc::ByteBuffer* request)>;

// One registered method, as the transport dispatches it.
struct method_binding {
  std::string path;  // "/package.Service/Method", as gRPC names it on the wire
  rpc_kind kind;
  spawn_fn spawn;
};

}  // namespace troupe::detail
