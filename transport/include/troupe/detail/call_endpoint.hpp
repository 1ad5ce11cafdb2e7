// The transport's side of one call: a small state machine over grpc++'s
// async stream of raw bytes. The call actor drives it through plain member calls
// (never blocking: each at most starts one gRPC operation); gRPC completions
// arrive on a transport thread and become messages to the actor.
//
// Invariants (all state under mu_):
//  - at most one read and one send operation (metadata, write or finish) in
//    flight, as grpc++ requires;
//  - exactly one Finish per admitted call, or none when gRPC ended it first;
//  - no operation is decided after the done notification; a send decided
//    before it and started outside the lock delays the call's "done" count,
//    so nothing reaches a completion queue that is shutting down;
//  - the endpoint keeps itself alive while any gRPC operation is in flight;
//  - every end of a call reaches its actor while it runs: cancelled{reason}
//    from the done notification (cancel, deadline, shutdown, or ended when
//    gRPC completed a finish the actor did not send), and cancelled{ended} at
//    once when the endpoint ends the call itself (write overrun, invalid
//    trailing metadata, a response that cannot be serialised). The actor then
//    quits, so endpoint and actor never keep each other alive;
//  - end_of_input is delivered only when the input certainly ended with a
//    half-close. gRPC reports a half-close and a broken call alike, as a failed
//    Read, and its done notification (IsCancelled) comes only after our Finish
//    for a half-closed call, so it cannot decide in time. A broken call fails
//    every operation started after its Read failed (gRPC closes the stream
//    before it reports that Read), a half-closed one does not: so the first
//    send started after the failed Read decides — the response headers if none
//    went out yet (client streams, quiet bidi streams), else the next queued
//    write. A bidi stream whose headers went out and that has nothing queued
//    has no such probe; only there end_of_input follows an Alarm queued behind
//    the done notification, which gRPC does not strictly order (a bidi handler
//    should not commit on end_of_input alone).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <grpcpp/alarm.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include "troupe/auth.hpp"
#include "troupe/call_messages.hpp"
#include "troupe/call_record.hpp"
#include "troupe/detail/rpc_kind.hpp"

namespace troupe::detail {

struct server_core;
struct method_binding;
class raw_methods;
class call_registration;

// How a call counts against the server's in-flight caps.
enum class admission : uint8_t {
  none,       // refused before admission (unknown method, max_inflight)
  counted,    // in max_inflight
  anonymous,  // in max_inflight and max_inflight_anonymous
};

class call_endpoint : public std::enable_shared_from_this<call_endpoint> {
public:
  call_endpoint(std::shared_ptr<server_core> core, grpc::ServerCompletionQueue* cq);
  ~call_endpoint();

  call_endpoint(const call_endpoint&) = delete;
  call_endpoint& operator=(const call_endpoint&) = delete;

  // -- called by the transport ------------------------------------------------

  // Posts this endpoint to accept the next call of method `index` on its
  // completion queue.
  void post_accept(raw_methods& methods, int index);

  // Posts this endpoint to accept the next call to a path no service has; it
  // answers UNIMPLEMENTED.
  void post_accept(grpc::AsyncGenericService& unknown);

  // Routes one completion-queue event (a tag of some endpoint) to its endpoint.
  static void dispatch(void* tag, bool ok);

  // -- called by the call actor (from any thread) -----------------------------

  // Queues a message. Returns false once the stream has used its credit (the
  // producer should pause until a write_credit message) or the call is over.
  // A producer that goes on past write_window + read_window messages, or past
  // overrun_bytes(), has its call ended with RESOURCE_EXHAUSTED. nullopt (a
  // response that could not be serialised) ends the call with INTERNAL.
  bool write(std::optional<grpc::ByteBuffer> msg);

  // Sends `msg` and finishes with OK, as one operation when nothing is queued;
  // nullopt ends the call with INTERNAL.
  void reply(std::optional<grpc::ByteBuffer> msg);

  // Finishes after the queued writes; later calls are ignored.
  void finish(const grpc::Status& st);

  // Sends response headers now (used by streams that stay silent).
  void send_initial_metadata();

  // Adds trailing metadata; ignored once the Finish started. A key or value
  // that breaks gRPC's rules (see metadata_error in call_endpoint.cpp) would
  // make grpc++ abort at the Finish: it ends the call with INTERNAL instead.
  void add_trailing_metadata(const std::string& key, const std::string& value);

  // The actor has handled one request message: read ahead again if allowed.
  void consumed();

  // Stops (true) or resumes (false) reading requests, whatever the window.
  void pause_input(bool paused);

  // The call actor ended; finishes the call if its handler did not.
  void on_actor_exit(const caf::error& reason);

  // True once the call is finished or cancelled.
  bool over() const;

  const grpc::GenericServerContext& context() const { return ctx_; }
  std::chrono::system_clock::time_point deadline() const;
  // The method's path, "/package.Service/Method".
  const std::string& method() const;
  // The client's x-request-id, or the one generated for the call.
  const std::string& request_id() const { return request_id_; }
  // The caller its API key named; nullptr when anonymous. Set before the
  // call's actor starts and never changed after.
  const caller* user() const { return caller_ ? &*caller_ : nullptr; }

private:
  enum class op : uint8_t { accept, read, send, done, read_end_check };
  struct tag {
    call_endpoint* self;
    op what;
  };
  using lock = std::unique_lock<std::mutex>;

  // Each start_* begins one gRPC operation; the caller holds the lock.
  void start(op what);
  void on_completion(op what, bool ok);
  void start_read(lock& lk);
  void read_more(lock& lk);
  void pump_sends(lock& lk);
  void finish_locked(lock& lk, const grpc::Status& st);
  // Ends the call now with `st` (an error of the endpoint's own): drops the
  // queued writes, finishes after the one in flight, tells the actor.
  void end_call(lock& lk, const grpc::Status& st);
  // Bytes a stream may hold unsent before write() ends its call.
  size_t overrun_bytes() const;

  void on_accept(lock& lk, bool ok);
  // After admission: checks the API key, then begins the call.
  void authenticate(lock& lk);
  void on_auth(auth_verdict v);
  // Ends the call with a refusing verdict, or begins it as its caller.
  void admit_caller(lock& lk, auth_verdict v);
  void begin_call(lock& lk);
  void on_read(lock& lk, bool ok);
  // A read failed: starts what decides between a half-close and a broken call.
  void confirm_end_of_input(lock& lk);
  void on_read_end_check(lock& lk);
  void on_send(lock& lk, bool ok);
  // Keeps the call's record in record_ when the request log wants it.
  void on_done(lock& lk);
  cancel_reason why_cancelled() const;
  call_record make_record(status_code code, std::string message) const;

  // Ends one gRPC operation; may release the last reference (after unlocking).
  std::shared_ptr<call_endpoint> end_op();

  // Counts this endpoint among the server's live ones. Declared before the
  // gRPC members so that it is destroyed after them: a shutdown waiting for
  // the count to reach zero then never frees the server under a call still
  // being torn down.
  class live_count {
  public:
    explicit live_count(server_core& core);
    ~live_count();
    live_count(const live_count&) = delete;
    live_count& operator=(const live_count&) = delete;

  private:
    server_core& core_;
  };

  std::shared_ptr<server_core> core_;
  live_count live_{*core_};
  grpc::ServerCompletionQueue* cq_;
  grpc::GenericServerContext ctx_;
  grpc::GenericServerAsyncReaderWriter stream_{&ctx_};
  tag accept_tag_{this, op::accept};
  tag read_tag_{this, op::read};
  tag send_tag_{this, op::send};
  tag done_tag_{this, op::done};
  tag read_end_tag_{this, op::read_end_check};

  mutable std::mutex mu_;
  std::shared_ptr<call_endpoint> self_ref_;  // set while operations are in flight
  int ops_in_flight_ = 0;
  // Null for a call to an unknown path; index -1 then too.
  const method_binding* method_ = nullptr;
  int method_index_ = -1;
  caf::actor actor_;
  std::unique_ptr<call_registration> registration_;  // of actor_, for the drain
  admission admitted_ = admission::none;
  bool done_ = false;  // gRPC's done notification arrived
  bool cancelled_ = false;
  std::optional<caller> caller_;

  // For the request log: counted always (plain ints under the lock), timed
  // only while logging is on.
  std::string request_id_;
  std::chrono::steady_clock::time_point started_;
  int64_t msgs_in_ = 0;
  int64_t msgs_out_ = 0;
  int64_t bytes_in_ = 0;
  int64_t bytes_out_ = 0;
  std::optional<call_record> record_;  // status and timing, from the done notification

  // Reading: a unary or server-stream call's request arrives with the accept.
  grpc::ByteBuffer read_buf_;
  bool reading_ = false;
  bool input_ended_ = false;
  bool input_paused_ = false;
  int unconsumed_ = 0;  // messages delivered to the actor, not yet handled
  // A read failed and no send started since has told whether the client
  // half-closed (see the invariants).
  bool end_unconfirmed_ = false;
  bool send_confirms_end_ = false;  // the send in flight started after that read
  std::unique_ptr<grpc::Alarm> read_end_alarm_;  // only where no send can tell

  // Sending.
  bool sending_ = false;
  bool send_is_write_ = false;
  bool metadata_wanted_ = false;
  bool metadata_sent_ = false;  // by any send: grpc++ sends headers with the first
  std::deque<grpc::ByteBuffer> outbox_;
  int unsent_ = 0;  // writes accepted and not yet completed (outbox + in flight)
  size_t unsent_bytes_ = 0;
  size_t in_flight_bytes_ = 0;  // of the write gRPC is sending now
  bool paused_ = false;
  std::optional<grpc::Status> finish_status_;
  bool finish_started_ = false;
  int starting_ = 0;               // sends decided, being started outside the lock
  bool done_unreported_ = false;   // done arrived while starting_ > 0
};

}  // namespace troupe::detail
