// The non-template parts of every call actor (see detail/spawn.hpp).
#include <spdlog/spdlog.h>

#include "troupe/detail/spawn.hpp"

namespace troupe::detail {

void prepare_call_actor(caf::event_based_actor* self, const std::shared_ptr<call_endpoint>& ep) {
  self->attach_functor([ep](const caf::error& reason) { ep->on_actor_exit(reason); });
  // Weak: CAF keeps the handler as long as the actor object, which may
  // outlive the actor's run (a pending timer holds it).
  std::weak_ptr<call_endpoint> weak = ep;
  self->set_exception_handler([weak](caf::scheduled_actor*, std::exception_ptr& e) -> caf::error {
    if (auto ep = weak.lock())
      ep->finish(status_from_exception(ep->method(), e));
    return caf::exit_reason::normal;
  });
}

status status_from_exception(const std::string& method, std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const status_error& s) {
    return s.get();
  } catch (const std::exception& x) {
    spdlog::error("{}: handler failed: {}", method, x.what());
  } catch (...) {
    spdlog::error("{}: handler failed with a non-standard exception", method);
  }
  // The client learns that it failed, never why: internals stay in the log.
  return {grpc::StatusCode::INTERNAL, "internal error"};
}

void request_unhandled(caf::event_based_actor* self, call_endpoint& ep, const std::string& type) {
  spdlog::error("{}: the handler's behavior has no case for {}", ep.method(), type);
  ep.finish({grpc::StatusCode::INTERNAL, "internal error"});
  self->quit();
}

void end_unhandled(caf::event_based_actor* self, call_endpoint& ep, rpc_kind kind) {
  if (kind == rpc_kind::bidi) {
    ep.finish(grpc::Status::OK);  // an echo-style stream ends with its input
  } else {
    spdlog::error("{}: the handler's behavior has no case for end_of_input", ep.method());
    ep.finish({grpc::StatusCode::INTERNAL, "internal error"});
  }
  self->quit();
}

}  // namespace troupe::detail
