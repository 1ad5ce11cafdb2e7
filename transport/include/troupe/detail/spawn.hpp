// Turns a handler into the function that starts one call actor per call.
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include <caf/all.hpp>

#include "troupe/call_actor.hpp"
#include "troupe/detail/inbound.hpp"
#include "troupe/detail/method_binding.hpp"

namespace troupe::detail {

// Common set-up of every call actor: finish the call if the actor ends
// without doing so, and map handler exceptions to a status.
void prepare_call_actor(caf::event_based_actor* self, const std::shared_ptr<call_endpoint>& ep);

// The status for an exception escaping a handler (logged unless a status_error).
status status_from_exception(const std::string& method, std::exception_ptr e);

// The user's behavior had no handler for a request, or for end_of_input.
void request_unhandled(caf::event_based_actor* self, call_endpoint& ep, const std::string& type);
void end_unhandled(caf::event_based_actor* self, call_endpoint& ep, rpc_kind kind);

// What a call actor starts with. Passed as a spawn argument (CAF keeps spawn
// arguments as long as the actor object, which a pending timer keeps alive);
// the actor moves the contents out, so the call's resources go when it quits.
struct call_start {
  std::shared_ptr<call_endpoint> ep;
  std::optional<grpc::ByteBuffer> request;
};
using call_start_ptr = std::shared_ptr<call_start>;

inline call_start_ptr make_call_start(std::shared_ptr<call_endpoint> ep, grpc::ByteBuffer* request) {
  auto start = std::make_shared<call_start>();
  start->ep = std::move(ep);
  if (request)
    start->request.emplace(std::move(*request));
  return start;
}

// A handler given as a plain function: unary only, `result<Resp>(call&, const Req&)`.
template <class Req, class Resp, class F>
spawn_fn function_spawner(F fn) {
  return [fn](caf::actor_system& sys, std::shared_ptr<call_endpoint> ep, grpc::ByteBuffer* request) {
    auto body = [fn](caf::event_based_actor* self, call_start_ptr start) -> caf::behavior {
      auto ep = std::move(start->ep);
      auto bytes = std::move(*start->request);
      start->request.reset();
      prepare_call_actor(self, ep);
      Req req;
      if (!parse(bytes, req)) {
        ep->finish(invalid_argument("request is not a valid " + Req::descriptor()->full_name()));
      } else {
        call c{ep};
        try {
          result<Resp> r = fn(c, static_cast<const Req&>(req));
          if (r.ok())
            ep->reply(serialize(r.value()));
          else
            ep->finish(r.error());
        } catch (...) {
          ep->finish(status_from_exception(ep->method(), std::current_exception()));
        }
      }
      self->quit();
      return {};
    };
    return sys.spawn(body, make_call_start(std::move(ep), request));
  };
}

// A handler given as a behavior factory: `caf::behavior(Handle)`.
template <class Req, class Handle, class F>
spawn_fn behavior_spawner(rpc_kind kind, F factory) {
  return [kind, factory](caf::actor_system& sys, std::shared_ptr<call_endpoint> ep,
                         grpc::ByteBuffer* request) {
    // An event-based actor, or a stateful one when the handle keeps state.
    using actor_type = typename Handle::actor_type;
    auto body = [kind, factory](actor_type* self, call_start_ptr start) -> caf::behavior {
      auto ep = std::move(start->ep);
      auto first = std::move(start->request);
      start->request.reset();
      prepare_call_actor(self, ep);
      caf::behavior user = factory(Handle{self, ep});
      // Parses one request and hands it to the user's behavior.
      auto deliver = [self, ep, user](grpc::ByteBuffer& bytes) mutable {
        Req req;
        if (!parse(bytes, req)) {
          ep->finish(invalid_argument("request is not a valid " + Req::descriptor()->full_name()));
          self->quit();
          return;
        }
        auto msg = caf::make_message(std::move(req));
        if (!user(msg))
          request_unhandled(self, *ep, Req::descriptor()->full_name());
      };
      if (first)
        deliver(*first);
      // Troupe's cases first; everything else (the request type, the user's
      // own timers and replies) goes to the user's behavior.
      caf::message_handler transport_cases{
        [ep, deliver](inbound& in) mutable {
          deliver(in.bytes);
          ep->consumed();
        },
        [self, ep, user, kind](end_of_input& x) mutable {
          auto msg = caf::make_message(x);
          if (!user(msg))
            end_unhandled(self, *ep, kind);
        },
        [self, user](cancelled& x) mutable {
          auto msg = caf::make_message(x);
          user(msg);
          self->quit(make_error(x.reason));
        },
        [user](write_credit& x) mutable {
          auto msg = caf::make_message(x);
          user(msg);
        },
        // Only handlers with a case for it act on it (see call_messages.hpp).
        [user](draining& x) mutable {
          auto msg = caf::make_message(x);
          user(msg);
        },
      };
      return transport_cases.or_else(user);
    };
    return sys.spawn(body, make_call_start(std::move(ep), request));
  };
}

}  // namespace troupe::detail
