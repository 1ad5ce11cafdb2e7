// A gRPC service as call-actor behaviors or plain functions.
//
//   troupe::service users{"demo.v1.UserService"};
//   users.unary<GetUserRequest, User>("GetUser",
//     [](troupe::call& call, const GetUserRequest& req) -> troupe::result<User> { ... });
//   users.bidi<ChatMessage, ChatResponse>("Chat",
//     [](troupe::bidi_actor<ChatMessage, ChatResponse> self) -> caf::behavior {
//       return {
//         [=](const ChatMessage& m) { self.write(answer(m)); },
//         [=](troupe::end_of_input) { self.finish(); },
//       };
//     });
//
// A behavior factory may name a stateful handle (call_actor.hpp), e.g.
// `troupe::server_stream_actor<Req, Resp, cursor>`, to keep state in the
// actor; blocking code runs through troupe::blocking (blocking.hpp).
//
// Each registration is checked against the service's protobuf descriptor
// (method name, request and response types, streaming kind); a mismatch throws
// std::invalid_argument naming the method, so a server fails at start-up.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "troupe/blocking.hpp"
#include "troupe/call_actor.hpp"
#include "troupe/detail/handler_traits.hpp"
#include "troupe/detail/method_binding.hpp"
#include "troupe/detail/spawn.hpp"

namespace troupe {

class service {
public:
  // `full_name` as in the .proto: "package.Service". Its descriptor must be
  // linked into the program (it is, when the generated code is).
  explicit service(std::string full_name);

  const std::string& name() const { return name_; }
  const std::vector<detail::method_binding>& methods() const { return methods_; }

  // `handler`: a plain function `result<Resp>(call&, const Req&)` (it runs
  // in the call's actor, so it must not block), a behavior factory
  // `caf::behavior(unary_actor<Req, Resp[, State]>)`, or troupe::blocking(...)
  // of `result<Resp>(call&, const Req&[, db::connection&])`.
  template <class Req, class Resp, class F>
  service& unary(const std::string& method, F handler) {
    using handle = detail::handle_of_t<F, unary_actor<Req, Resp>>;
    if constexpr (detail::is_blocking_v<F>)
      return unary<Req, Resp>(method, detail::blocking_unary<Req, Resp>(std::move(handler)));
    else if constexpr (std::is_invocable_r_v<caf::behavior, F, handle>)
      return add<Req, Resp>(method, rpc_kind::unary, detail::behavior_spawner<Req, handle>(rpc_kind::unary, handler));
    else {
      static_assert(std::is_invocable_r_v<result<Resp>, F, call&, const Req&>,
                    "unary handler: result<Resp>(troupe::call&, const Req&), "
                    "caf::behavior(troupe::unary_actor<Req, Resp[, State]>) or troupe::blocking(...)");
      return add<Req, Resp>(method, rpc_kind::unary, detail::function_spawner<Req, Resp>(handler));
    }
  }

  // `handler`: `caf::behavior(server_stream_actor<Req, Resp[, State]>)`, the
  // request arriving as the first message; or troupe::blocking(...) of a loop
  // `status(call&, const Req&[, db::connection&], writer<Resp>&)`.
  template <class Req, class Resp, class F>
  service& server_stream(const std::string& method, F handler) {
    if constexpr (detail::is_blocking_v<F>)
      return server_stream<Req, Resp>(method, detail::blocking_server_stream<Req, Resp>(std::move(handler)));
    else
      return add_behavior<Req, Resp, server_stream_actor<Req, Resp>>(method, rpc_kind::server_stream, handler);
  }

  // `handler`: `caf::behavior(client_stream_actor<Req, Resp[, State]>)`; it
  // gets each request, then end_of_input, and replies once.
  template <class Req, class Resp, class F>
  service& client_stream(const std::string& method, F handler) {
    return add_behavior<Req, Resp, client_stream_actor<Req, Resp>>(method, rpc_kind::client_stream, handler);
  }

  // `handler`: `caf::behavior(bidi_actor<Req, Resp[, State]>)`. Without a
  // handler for end_of_input the call finishes OK once the client half-closes.
  template <class Req, class Resp, class F>
  service& bidi(const std::string& method, F handler) {
    return add_behavior<Req, Resp, bidi_actor<Req, Resp>>(method, rpc_kind::bidi, handler);
  }

private:
  template <class Req, class Resp, class Default, class F>
  service& add_behavior(const std::string& method, rpc_kind kind, F handler) {
    using handle = detail::handle_of_t<F, Default>;
    static_assert(std::is_invocable_r_v<caf::behavior, F, handle>,
                  "stream handler: caf::behavior(troupe::<kind>_actor<Req, Resp[, State]>)");
    return add<Req, Resp>(method, kind, detail::behavior_spawner<Req, handle>(kind, handler));
  }

  template <class Req, class Resp>
  service& add(const std::string& method, rpc_kind kind, detail::spawn_fn spawn) {
    check(method, kind, Req::descriptor(), Resp::descriptor());
    methods_.push_back({"/" + name_ + "/" + method, kind, std::move(spawn)});
    return *this;
  }

  void check(const std::string& method, rpc_kind kind, const google::protobuf::Descriptor* req,
             const google::protobuf::Descriptor* resp) const;

  std::string name_;
  const google::protobuf::ServiceDescriptor* descriptor_;
  std::vector<detail::method_binding> methods_;
};

}  // namespace troupe
