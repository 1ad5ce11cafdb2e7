// What a call actor's behavior gets to drive its call. One actor per call;
// requests arrive as messages of the request type, and:
//   end_of_input   the client half-closed (client streams, bidi)
//   write_credit   a paused stream may write again (server streams, bidi)
//   cancelled      the call is over (client cancel, deadline, shutdown, or
//                  the server ended it: reason ended); the actor quits right
//                  after its own handler for it, if any
// Handles are cheap to copy into a behavior's lambdas.
//
// State the handler keeps between messages lives in the actor: name its type
// as the handle's last parameter and reach it with self.state(). It is built
// (default-constructed) when the call starts and destroyed when the actor
// quits, so nothing outlives the call and no callback can reach it after:
//
//   struct cursor { int64_t after_id = 0; };
//   svc.server_stream<Req, Resp>("List",
//     [](troupe::server_stream_actor<Req, Resp, cursor> self) -> caf::behavior { ... self.state().after_id ... });
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include <caf/all.hpp>

#include "troupe/call.hpp"
#include "troupe/call_messages.hpp"
#include "troupe/database.hpp"
#include "troupe/db/run.hpp"
#include "troupe/detail/codec.hpp"
#include "troupe/protobuf_messages.hpp"
#include "troupe/status.hpp"

namespace troupe {

namespace detail {

template <class T>
struct unwrap_result {
  using type = T;
};
template <class T>
struct unwrap_result<result<T>> {
  using type = T;
};

// A job's outcome as the call sees it.
template <class W>
result<typename unwrap_result<W>::type> to_result(::troupe::db::outcome<W> o) {
  if (!o.ok())
    return to_status(o.error());
  if constexpr (std::is_void_v<W>)
    return {};
  else
    return std::move(*o);
}

// A handle's State, boxed so that CAF 0.17 sees no member of it: its
// stateful_actor takes a member called `name` as the actor's name (a State
// with `int name` would not compile; a string one would be read by CAF's
// logging, possibly after the State is gone), builds the State from the actor
// pointer when it can (a State(bool) would get `true`), and marks an
// inspectable State serializable. The box has none of these.
template <class State>
struct state_box {
  State value;
};

// No state: the handle's State is void.
template <class State>
struct actor_of {
  static_assert(std::is_default_constructible_v<State>,
                "a call actor's State is default-constructed when the call starts");
  using type = caf::stateful_actor<state_box<State>>;
};
template <>
struct actor_of<void> {
  using type = caf::event_based_actor;
};

}  // namespace detail

class call_actor_handle {
public:
  call_actor_handle(caf::event_based_actor* self, std::shared_ptr<detail::call_endpoint> ep)
      : self_(self), call_(std::move(ep)) {}

  // The CAF actor, for timers and requests to other actors: self->...
  caf::event_based_actor* operator->() const { return self_; }
  caf::event_based_actor* actor() const { return self_; }

  const troupe::call& call() const { return call_; }

  // Client streams and bidi: stop reading requests while this call does
  // asynchronous work (a database write, say), so the client waits under
  // HTTP/2 flow control instead of filling the mailbox; resume after.
  void pause_input() const { call_.endpoint().pause_input(true); }
  void resume_input() const { call_.endpoint().pause_input(false); }

  // Runs `work(db::connection&)` on one of `pool`'s worker threads, with
  // this call's deadline; `done(troupe::result<T>)` runs back in this actor,
  // where T is what `work` returns (a work that returns result<T> itself is
  // not wrapped twice). A database error arrives as its status (to_status).
  // If the call is cancelled, the actor quits and the pool, which watches
  // it, drops the job or interrupts its query.
  template <class Work, class Done>
  void db(const caf::actor& pool, Work work, Done done) const {
    using returned = ::troupe::db::work_result_t<Work>;
    ::troupe::db::run(self_, pool, job_deadline(call_), std::move(work),
                      [done = std::move(done)](::troupe::db::outcome<returned> o) mutable {
                        done(detail::to_result(std::move(o)));
                      });
  }

  // Ends the call with `st` (after queued writes) and quits the actor.
  void fail(const status& st) const {
    call_.endpoint().finish(st);
    self_->quit();
  }

protected:
  caf::event_based_actor* self_;
  troupe::call call_;
};

// The handle of a call whose actor keeps a State (void: none).
template <class State>
class stateful_handle : public call_actor_handle {
public:
  using actor_type = typename detail::actor_of<State>::type;
  using state_type = State;

  stateful_handle(actor_type* self, std::shared_ptr<detail::call_endpoint> ep)
      : call_actor_handle(self, std::move(ep)) {}

  // The actor's State: valid while the actor runs (in its handlers).
  template <class S = State, class = std::enable_if_t<!std::is_void_v<S>>>
  S& state() const {
    return static_cast<actor_type*>(self_)->state.value;
  }
};

// A call with one response: unary and client-stream methods.
template <class Req, class Resp, class State = void>
class unary_actor : public stateful_handle<State> {
public:
  using stateful_handle<State>::stateful_handle;

  // Sends the response with OK and quits the actor.
  void reply(const Resp& response) const {
    this->call_.endpoint().reply(detail::serialize(response));
    this->self_->quit();
  }

  // Replies with the value, or ends the call with the status.
  void reply(result<Resp> r) const {
    if (r.ok())
      reply(*r);
    else
      this->fail(r.error());
  }
};

template <class Req, class Resp, class State = void>
using client_stream_actor = unary_actor<Req, Resp, State>;

// A call with a stream of responses: server-stream and bidi methods.
template <class Req, class Resp, class State = void>
class stream_actor : public stateful_handle<State> {
public:
  using stateful_handle<State>::stateful_handle;

  // Queues one response. Returns false once the stream's credit is used up:
  // stop producing until a write_credit message arrives (a few more writes
  // are buffered; a producer that ignores this has its call ended).
  bool write(const Resp& response) const {
    return this->call_.endpoint().write(detail::serialize(response));
  }

  // Sends response headers now, for a stream that will stay silent a while.
  void send_initial_metadata() const { this->call_.endpoint().send_initial_metadata(); }

  // Finishes after the queued writes (OK unless given) and quits the actor.
  void finish(const status& st = status::OK) const { this->fail(st); }
};

template <class Req, class Resp, class State = void>
using server_stream_actor = stream_actor<Req, Resp, State>;

template <class Req, class Resp, class State = void>
using bidi_actor = stream_actor<Req, Resp, State>;

}  // namespace troupe
