#include "troupe/detail/call_endpoint.hpp"

#include <spdlog/spdlog.h>

#include "raw_methods.hpp"
#include "request_id.hpp"
#include "server_core.hpp"
#include "troupe/call_messages.hpp"
#include "troupe/detail/inbound.hpp"

namespace troupe::detail {

namespace {

bool reads_stream(rpc_kind k) {
  return k == rpc_kind::client_stream || k == rpc_kind::bidi;
}

bool ends_with(const std::string& s, const char* tail) {
  size_t n = std::char_traits<char>::length(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

// What breaks gRPC's rules for metadata an application sends (gRPC core
// checks them in grpc_call_start_batch and refuses the whole batch, which
// grpc++ answers with abort()), or nullptr. Keys gRPC itself sends (grpc-*)
// are refused too: a handler's grpc-status would contradict the real one.
const char* metadata_error(const std::string& key, const std::string& value) {
  if (key.empty())
    return "empty key";
  if (key.compare(0, 5, "grpc-") == 0)
    return "key reserved by gRPC";
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return "key with a character outside 0-9 a-z - _ .";  // upper case, ':' of pseudo-headers
  }
  if (ends_with(key, "-bin"))
    return nullptr;  // binary values: any bytes (gRPC sends them base64)
  for (unsigned char c : value) {
    if (c < 0x20 || c > 0x7e)
      return "value with a character outside printable ASCII (binary values need a -bin key)";
  }
  return nullptr;
}

// A handler's key for a log line: printable, short.
std::string printable(const std::string& key) {
  std::string out = key.substr(0, 64);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
      c = '?';
  }
  return out;
}

}  // namespace

call_endpoint::live_count::live_count(server_core& core) : core_(core) {
  core_.endpoint_created();
}

call_endpoint::live_count::~live_count() {
  core_.endpoint_destroyed();
}

call_endpoint::call_endpoint(std::shared_ptr<server_core> core, grpc::ServerCompletionQueue* cq)
    : core_(std::move(core)), cq_(cq) {}

call_endpoint::~call_endpoint() = default;

void call_endpoint::dispatch(void* t, bool ok) {
  auto* tg = static_cast<tag*>(t);
  tg->self->on_completion(tg->what, ok);
}

void call_endpoint::post_accept(raw_methods& methods, int index) {
  lock lk(mu_);
  method_ = &methods.binding(index);
  method_index_ = index;
  start(op::accept);
  // Armed now, delivered only if the accept succeeds (then counted in on_accept).
  ctx_.AsyncNotifyWhenDone(&done_tag_);
  methods.request(index, &ctx_, &read_buf_, &stream_, cq_, &accept_tag_);
}

void call_endpoint::post_accept(grpc::AsyncGenericService& unknown) {
  lock lk(mu_);
  start(op::accept);
  ctx_.AsyncNotifyWhenDone(&done_tag_);
  unknown.RequestCall(&ctx_, &stream_, cq_, cq_, &accept_tag_);
}

const std::string& call_endpoint::method() const {
  return method_ ? method_->path : ctx_.method();
}

void call_endpoint::start(op) {
  if (ops_in_flight_++ == 0)
    self_ref_ = shared_from_this();
}

std::shared_ptr<call_endpoint> call_endpoint::end_op() {
  if (--ops_in_flight_ == 0)
    return std::move(self_ref_);
  return nullptr;
}

void call_endpoint::on_completion(op what, bool ok) {
  std::shared_ptr<call_endpoint> last;  // released after the lock below
  lock lk(mu_);
  switch (what) {
    case op::accept:
      on_accept(lk, ok);
      break;
    case op::read:
      on_read(lk, ok);
      break;
    case op::send:
      on_send(lk, ok);
      break;
    case op::done:
      on_done(lk);
      break;
    case op::read_end_check:
      on_read_end_check(lk);
      break;
  }
  last = end_op();
  // Reported once gRPC has completed every operation: a write's completion
  // may come after the done notification, and its message counts.
  if (last && record_) {
    auto r = std::move(*record_);
    record_.reset();
    r.msgs_in = msgs_in_;
    r.msgs_out = msgs_out_;
    r.bytes_in = bytes_in_;
    r.bytes_out = bytes_out_;
    lk.unlock();  // the call actor may still touch the endpoint
    core_->report(r);
  }
}

void call_endpoint::on_accept(lock& lk, bool ok) {
  if (!ok)
    return;  // the server is shutting down: no call
  core_->post_accept(cq_, method_index_);
  start(op::done);
  ++core_->live_calls;
  // Before any finish below: refusals carry the id too.
  request_id_ = pick_request_id(ctx_.client_metadata());
  ctx_.AddTrailingMetadata(request_id_key, request_id_);
  if (core_->log_mode != request_log::off)
    started_ = std::chrono::steady_clock::now();
  if (!method_) {
    finish_locked(lk, {grpc::StatusCode::UNIMPLEMENTED, "unknown method " + ctx_.method()});
    return;
  }
  if (core_->inflight.fetch_add(1) >= core_->cfg.max_inflight) {
    --core_->inflight;
    ++core_->rejected;
    finish_locked(lk, {grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "server busy: " + std::to_string(core_->cfg.max_inflight) +
                         " calls in flight"});
    return;
  }
  admitted_ = admission::counted;
  if (core_->auth && !core_->auth->is_public(method_->path))
    authenticate(lk);
  else
    begin_call(lk);
}

void call_endpoint::authenticate(lock& lk) {
  // The reply keeps this endpoint alive; if the call is over by then
  // (cancelled, shutdown), on_auth does nothing.
  auto verdict = core_->auth->check(ctx_, [self = shared_from_this()](auth_verdict v) {
    self->on_auth(std::move(v));
  });
  if (verdict)
    admit_caller(lk, std::move(*verdict));
  // else: looked up in the database; on_auth continues
}

void call_endpoint::on_auth(auth_verdict v) {
  lock lk(mu_);
  if (done_ || finish_status_)
    return;
  admit_caller(lk, std::move(v));
}

void call_endpoint::admit_caller(lock& lk, auth_verdict v) {
  if (!v.st.ok()) {
    finish_locked(lk, v.st);
    return;
  }
  caller_ = std::move(v.who);
  begin_call(lk);
}

void call_endpoint::begin_call(lock& lk) {
  // Calls without a key have a cap of their own within max_inflight, so that
  // they cannot lock keyed callers out. With [auth] off every call is
  // anonymous and there is no keyed caller to protect: max_inflight alone.
  if (core_->auth && !caller_) {
    const int cap = core_->cfg.anonymous_inflight_limit();
    if (core_->inflight_anonymous.fetch_add(1) >= cap) {
      --core_->inflight_anonymous;
      ++core_->rejected;
      finish_locked(lk, {grpc::StatusCode::RESOURCE_EXHAUSTED,
                         "server busy: " + std::to_string(cap) + " calls without an API key in flight"});
      return;
    }
    admitted_ = admission::anonymous;
  }
  // Runs on this transport thread; the actor itself starts on a scheduler thread.
  if (reads_stream(method_->kind)) {
    actor_ = method_->spawn(core_->sys, shared_from_this(), nullptr);
    registration_ = core_->calls.add(actor_);
    start_read(lk);
    return;
  }
  ++msgs_in_;
  bytes_in_ += static_cast<int64_t>(read_buf_.Length());
  input_ended_ = true;  // the one request; gRPC checks there is no second
  actor_ = method_->spawn(core_->sys, shared_from_this(), &read_buf_);
  registration_ = core_->calls.add(actor_);
}

void call_endpoint::start_read(lock&) {
  reading_ = true;
  start(op::read);
  stream_.Read(&read_buf_, &read_tag_);
}

void call_endpoint::on_read(lock& lk, bool ok) {
  reading_ = false;
  if (!ok)
    input_ended_ = true;  // never read again after a failed read
  if (done_ || finish_status_)
    return;
  if (!ok) {
    // Either the client half-closed or the call broke: a cancelled upload must
    // never look like a finished one.
    end_unconfirmed_ = true;
    confirm_end_of_input(lk);
    return;
  }
  ++msgs_in_;
  bytes_in_ += static_cast<int64_t>(read_buf_.Length());
  ++unconsumed_;
  caf::anon_send(actor_, inbound{std::move(read_buf_)});
  read_buf_.Clear();
  read_more(lk);
}

void call_endpoint::confirm_end_of_input(lock& lk) {
  if (done_ || finish_status_) {
    end_unconfirmed_ = false;  // the call is over: no end_of_input needed
    return;
  }
  if (sending_)
    return;  // on_send starts the next send, which decides
  if (!metadata_sent_) {
    // The response headers: sent on a half-closed stream, refused on a
    // broken one (see the invariants).
    metadata_wanted_ = true;
    pump_sends(lk);
    return;
  }
  // A bidi stream with its headers out and nothing to send: no operation can
  // tell. A broken call also completes its done notification; queue a check
  // behind it on the same queue. (Exactly one alarm per call: gRPC frees an
  // Alarm destroyed with its event queued.)
  end_unconfirmed_ = false;
  read_end_alarm_ = std::make_unique<grpc::Alarm>();
  start(op::read_end_check);
  read_end_alarm_->Set(cq_, gpr_now(GPR_CLOCK_MONOTONIC), &read_end_tag_);
}

void call_endpoint::on_read_end_check(lock&) {
  if (done_ || finish_status_ || !actor_)
    return;
  caf::anon_send(actor_, end_of_input{});
}

void call_endpoint::consumed() {
  lock lk(mu_);
  if (unconsumed_ > 0)
    --unconsumed_;
  read_more(lk);
}

void call_endpoint::pause_input(bool paused) {
  lock lk(mu_);
  input_paused_ = paused;
  read_more(lk);
}

void call_endpoint::read_more(lock& lk) {
  // A stream out of write credit is not read either: a bidi client that stops
  // reading its responses is slowed by HTTP/2 flow control, not buffered.
  if (method_ && reads_stream(method_->kind) && !reading_ && !input_ended_ && !done_ &&
      !finish_status_ && !paused_ && !input_paused_ && unconsumed_ < core_->cfg.read_window)
    start_read(lk);
}

size_t call_endpoint::overrun_bytes() const {
  // The byte window, the message that crossed it, and one answer of at most
  // max_send_message_bytes to each request still in the mailbox: a producer
  // that pauses at false never comes near it, whatever its message sizes.
  auto& cfg = core_->cfg;
  return static_cast<size_t>(cfg.write_window_bytes) +
         static_cast<size_t>(cfg.read_window + 1) * static_cast<size_t>(cfg.max_send_message_bytes);
}

bool call_endpoint::write(std::optional<grpc::ByteBuffer> msg) {
  lock lk(mu_);
  if (done_ || finish_status_)
    return false;
  if (!msg) {
    spdlog::error("{}: a response could not be serialised; ending the call", method());
    end_call(lk, {grpc::StatusCode::INTERNAL, "internal error"});
    return false;
  }
  const int window = core_->cfg.write_window;
  // Up to a read window of requests may still be in the mailbox after the
  // credit ran out; a handler answering each of them stays within this bound.
  if (unsent_ >= window + core_->cfg.read_window || unsent_bytes_ + msg->Length() > overrun_bytes()) {
    spdlog::error("{}: handler kept writing after its stream ran out of credit ({} messages, {} "
                  "bytes queued); ending the call", method(), unsent_, unsent_bytes_);
    end_call(lk, {grpc::StatusCode::RESOURCE_EXHAUSTED, "stream producer overran its window"});
    return false;
  }
  unsent_bytes_ += msg->Length();
  outbox_.push_back(std::move(*msg));
  ++unsent_;
  pump_sends(lk);
  if (unsent_ < window && unsent_bytes_ < static_cast<size_t>(core_->cfg.write_window_bytes))
    return true;
  paused_ = true;
  return false;
}

void call_endpoint::reply(std::optional<grpc::ByteBuffer> msg) {
  lock lk(mu_);
  if (done_ || finish_status_)
    return;
  if (!msg) {
    spdlog::error("{}: the response could not be serialised; ending the call", method());
    end_call(lk, {grpc::StatusCode::INTERNAL, "internal error"});
    return;
  }
  unsent_bytes_ += msg->Length();
  outbox_.push_back(std::move(*msg));
  ++unsent_;
  finish_status_ = grpc::Status::OK;
  pump_sends(lk);
}

void call_endpoint::finish(const grpc::Status& st) {
  lock lk(mu_);
  finish_locked(lk, st);
}

void call_endpoint::finish_locked(lock& lk, const grpc::Status& st) {
  if (done_ || finish_status_)
    return;
  finish_status_ = st;
  pump_sends(lk);
}

void call_endpoint::end_call(lock& lk, const grpc::Status& st) {
  if (done_ || finish_started_)
    return;
  // Only the write gRPC is sending stays counted: the rest never goes out.
  outbox_.clear();
  unsent_ = sending_ && send_is_write_ ? 1 : 0;
  unsent_bytes_ = unsent_ ? in_flight_bytes_ : 0;
  finish_status_ = st;  // replaces one decided but not started: this one is why it ends
  // At once, not at the done notification: a client that does not read holds
  // back the Finish, and the actor should not wait for that.
  if (actor_)
    caf::anon_send<caf::message_priority::high>(actor_, cancelled{cancel_reason::ended});
  pump_sends(lk);
}

void call_endpoint::send_initial_metadata() {
  lock lk(mu_);
  if (metadata_wanted_ || done_)
    return;
  metadata_wanted_ = true;
  pump_sends(lk);
}

void call_endpoint::add_trailing_metadata(const std::string& key, const std::string& value) {
  lock lk(mu_);
  if (finish_started_ || done_)
    return;
  if (auto error = metadata_error(key, value)) {
    spdlog::error("{}: handler set invalid trailing metadata '{}' ({}); ending the call", method(),
                  printable(key), error);
    end_call(lk, {grpc::StatusCode::INTERNAL, "internal error"});
    return;
  }
  ctx_.AddTrailingMetadata(key, value);
}

void call_endpoint::pump_sends(lock& lk) {
  if (sending_ || done_)
    return;
  enum class send { metadata, write, write_and_finish, finish } what;
  grpc::ByteBuffer msg;
  grpc::Status status;
  bool more_queued = false;
  if (metadata_wanted_ && !metadata_sent_) {
    metadata_sent_ = true;
    what = send::metadata;
  } else if (!outbox_.empty()) {
    msg = std::move(outbox_.front());
    outbox_.pop_front();
    in_flight_bytes_ = msg.Length();
    what = send::write;
    // With more queued behind it, gRPC may hold this message and send it in
    // one go with the next ones (one syscall for many small messages); the
    // last write before an empty outbox goes out at once.
    more_queued = !outbox_.empty();
    if (outbox_.empty() && finish_status_ && finish_status_->ok()) {
      finish_started_ = true;
      status = *finish_status_;
      what = send::write_and_finish;
    }
  } else if (finish_status_ && !finish_started_) {
    finish_started_ = true;
    status = *finish_status_;
    what = send::finish;
  } else {
    return;
  }
  sending_ = true;
  send_is_write_ = what == send::write || what == send::write_and_finish;
  metadata_sent_ = true;  // grpc++ sends the headers with the first operation
  send_confirms_end_ = end_unconfirmed_;
  start(op::send);
  // Started outside the lock: grpc++ may write to the socket on this thread
  // right away, and the call's other thread (actor or transport) should not
  // wait for that. sending_ keeps this the only send in flight.
  ++starting_;
  lk.unlock();
  switch (what) {
    case send::metadata:
      stream_.SendInitialMetadata(&send_tag_);
      break;
    case send::write:
      stream_.Write(msg, more_queued ? grpc::WriteOptions().set_buffer_hint() : grpc::WriteOptions(), &send_tag_);
      break;
    case send::write_and_finish:
      stream_.WriteAndFinish(msg, grpc::WriteOptions(), status, &send_tag_);
      break;
    case send::finish:
      stream_.Finish(status, &send_tag_);
      break;
  }
  lk.lock();
  if (--starting_ == 0 && done_unreported_) {
    done_unreported_ = false;
    core_->call_done(admitted_);
  }
}

void call_endpoint::on_send(lock& lk, bool ok) {
  sending_ = false;
  if (send_is_write_ && ok) {
    ++msgs_out_;
    bytes_out_ += static_cast<int64_t>(in_flight_bytes_);
  }
  if (send_is_write_) {
    --unsent_;
    unsent_bytes_ -= in_flight_bytes_;
    const int window = core_->cfg.write_window;
    const size_t window_bytes = static_cast<size_t>(core_->cfg.write_window_bytes);
    // Credit comes back in batches (half a window), not one message at a time.
    if (paused_ && ok && !done_ && unsent_ <= window / 2 && unsent_bytes_ <= window_bytes / 2) {
      paused_ = false;
      if (actor_)
        caf::anon_send(actor_, write_credit{window - unsent_});
      read_more(lk);
    }
  }
  if (send_confirms_end_) {
    // Started after a failed read: it went through only if the client had
    // half-closed. If not, the call broke and its done notification follows.
    send_confirms_end_ = false;
    end_unconfirmed_ = false;
    if (ok && !done_ && !finish_status_ && actor_)
      caf::anon_send(actor_, end_of_input{});
  }
  if (!ok)
    return;  // the call broke; its done notification follows
  pump_sends(lk);
  if (end_unconfirmed_)
    confirm_end_of_input(lk);
}

void call_endpoint::on_done(lock&) {
  done_ = true;
  outbox_.clear();
  cancelled_ = ctx_.IsCancelled();
  auto reason = cancelled_ ? why_cancelled() : cancel_reason::cancelled;
  // An actor still running has not finished the call itself (it quits when it
  // does): a call gRPC or the endpoint ended reaches it here at the latest.
  if (actor_)
    caf::anon_send<caf::message_priority::high>(actor_, cancelled{cancelled_ ? reason : cancel_reason::ended});
  // The server closes its queues once every call is done: a send decided
  // before this notification but still being started must get there first.
  if (starting_ > 0)
    done_unreported_ = true;
  else
    core_->call_done(admitted_);
  // Not cancelled means gRPC sent our Finish, so finish_status_ is what the
  // client got.
  auto code = cancelled_ ? (reason == cancel_reason::deadline ? status_code::DEADLINE_EXCEEDED
                                                               : status_code::CANCELLED)
              : finish_status_ ? finish_status_->error_code()
                               : status_code::UNKNOWN;
  if (!logs(core_->log_mode, code))
    return;
  if (!cancelled_)
    record_ = make_record(code, finish_status_ ? finish_status_->error_message() : "no status sent");
  else if (reason == cancel_reason::deadline)
    record_ = make_record(code, "deadline exceeded");
  else if (reason == cancel_reason::shutdown)
    record_ = make_record(code, "cancelled by server shutdown");
  else
    record_ = make_record(code, "cancelled by the client");
}

cancel_reason call_endpoint::why_cancelled() const {
  // A client cancels at its own deadline, usually just before the server's
  // copy of it (sent relative, started later) expires: count a cancel that
  // close to the deadline as the deadline.
  constexpr auto deadline_slack = std::chrono::milliseconds(100);
  // During the grace a call is still the client's to cancel; at its end
  // gRPC cancels every call left.
  if (core_->shutting_down && std::chrono::steady_clock::now() + deadline_slack >= core_->grace_end.load())
    return cancel_reason::shutdown;
  if (std::chrono::system_clock::now() + deadline_slack >= ctx_.deadline())
    return cancel_reason::deadline;
  return cancel_reason::cancelled;
}

call_record call_endpoint::make_record(status_code code, std::string message) const {
  auto duration = std::chrono::duration_cast<std::chrono::microseconds>(
    std::chrono::steady_clock::now() - started_);
  call_record r;
  r.request_id = request_id_;
  r.method = method();
  r.peer = ctx_.peer();
  if (caller_)
    r.user = caller_->user;
  r.code = code;
  r.message = std::move(message);
  r.duration = duration;
  // One clock read fewer per call than stamping the start: the system clock
  // rarely jumps within a call.
  r.started_at = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
    std::chrono::system_clock::now() - duration);
  return r;
}

void call_endpoint::on_actor_exit(const caf::error& reason) {
  lock lk(mu_);
  actor_ = nullptr;
  if (done_ || finish_status_)
    return;
  if (reason && reason.category() == error_category) {
    finish_locked(lk, {grpc::StatusCode::CANCELLED, "call cancelled by its handler"});
    return;
  }
  spdlog::error("{}: call actor ended without finishing its call ({})", method(),
                reason ? core_->sys.render(reason) : std::string("normal exit"));
  finish_locked(lk, {grpc::StatusCode::INTERNAL, "internal error"});
}

bool call_endpoint::over() const {
  lock lk(mu_);
  return done_ || finish_status_.has_value();
}

std::chrono::system_clock::time_point call_endpoint::deadline() const {
  return ctx_.deadline();
}

}  // namespace troupe::detail
