// What a call actor's behavior gets to drive its call. One actor per call;
// requests arrive as messages of the request type, and:
//   end_of_input   the client half-closed (client streams, bidi)
//   write_credit   a paused stream may write again (server streams, bidi)
//   cancelled      the call is over (client cancel, deadline, shutdown, or
//                  the server ended it: reason ended); the actor quits right
//                  after its own handler for it, if any
// Handles are cheap to copy into a behavior's lambdas.
#pragma once

#include <memory>

#include <caf/all.hpp>

#include "troupe/call.hpp"
#include "troupe/call_messages.hpp"
#include "troupe/database.hpp"
#include "troupe/db/run.hpp"
#include "troupe/detail/codec.hpp"
#include "troupe/protobuf_messages.hpp"
#include "troupe/status.hpp"

namespace troupe {

class call_actor_handle {
public:
  call_actor_handle(caf::event_based_actor* self, std::shared_ptr<detail::call_endpoint> ep)
      : self_(self), call_(std::move(ep)) {}

  // The CAF actor, for timers, requests to other actors, state: self->...
  caf::event_based_actor* operator->() const { return self_; }
  caf::event_based_actor* actor() const { return self_; }

  const troupe::call& call() const { return call_; }

  // Client streams and bidi: stop reading requests while this call does
  // asynchronous work (a database write, say), so the client waits under
  // HTTP/2 flow control instead of filling the mailbox; resume after.
  void pause_input() const { call_.endpoint().pause_input(true); }
  void resume_input() const { call_.endpoint().pause_input(false); }

  // Runs `work(db::connection&)` on one of `pool`'s worker threads, with
  // this call's deadline; `done(db::outcome<T>)` runs back in this actor.
  // If the call is cancelled, the actor quits and the pool, which watches
  // it, drops the job or interrupts its query.
  template <class Work, class Done>
  void db(const caf::actor& pool, Work work, Done done) const {
    ::troupe::db::run(self_, pool, job_deadline(call_), std::move(work), std::move(done));
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

// A call with one response: unary and client-stream methods.
template <class Req, class Resp>
class unary_actor : public call_actor_handle {
public:
  using call_actor_handle::call_actor_handle;

  // Sends the response with OK and quits the actor.
  void reply(const Resp& response) const {
    call_.endpoint().reply(detail::serialize(response));
    self_->quit();
  }
};

template <class Req, class Resp>
using client_stream_actor = unary_actor<Req, Resp>;

// A call with a stream of responses: server-stream and bidi methods.
template <class Req, class Resp>
class stream_actor : public call_actor_handle {
public:
  using call_actor_handle::call_actor_handle;

  // Queues one response. Returns false once the stream's credit is used up:
  // stop producing until a write_credit message arrives (a few more writes
  // are buffered; a producer that ignores this has its call ended).
  bool write(const Resp& response) const {
    return call_.endpoint().write(detail::serialize(response));
  }

  // Sends response headers now, for a stream that will stay silent a while.
  void send_initial_metadata() const { call_.endpoint().send_initial_metadata(); }

  // Finishes after the queued writes (OK unless given) and quits the actor.
  void finish(const status& st = status::OK) const { fail(st); }
};

template <class Req, class Resp>
using server_stream_actor = stream_actor<Req, Resp>;

template <class Req, class Resp>
using bidi_actor = stream_actor<Req, Resp>;

}  // namespace troupe
