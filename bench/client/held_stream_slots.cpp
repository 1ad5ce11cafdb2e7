// Slots that hold one ServerStream for the whole run: an idle stream
// (count < 0, what open-streams piles up) and a slow reader. Both end when the
// run stops, by cancelling; CANCELLED is then the expected status.
#include "slots.h"

#include <climits>
#include <optional>

namespace bench_client {

namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;

class held_stream_slot : public slot {
 public:
  held_stream_slot(worker& w, bench::v1::Bench::Stub& stub, const char* kind, int count, int size)
      : slot(w, stub, kind) {
    request_.set_count(count);
    request_.set_size(size);
  }

  void begin(clock::time_point) override {
    cancelled_ = false;
    problem_ = nullptr;
    rpc_.reset();
    ctx_.emplace();
    // Opening many streams takes a while, outside the measured hold time:
    // the deadline allows for it.
    ctx_->set_deadline(deadline(true) + establish_timeout(w_.opts()));
    rpc_ = stub_.PrepareAsyncServerStream(&*ctx_, request_, w_.cq());
    rpc_->StartCall(tag_for(op_start));
  }

  void stop() override {
    if (!ctx_)
      return;
    cancelled_ = true;
    ctx_->TryCancel();
  }

 protected:
  enum : int { op_start, op_meta, op_read, op_finish, op_alarm };

  void finish() { rpc_->Finish(&status_, tag_for(op_finish)); }

  void report_end() {
    // Cancelled by this client at the end of the run: the stream did its job.
    const bool expected = cancelled_ && status_.error_code() == grpc::StatusCode::CANCELLED;
    w_.stream_done(kind_, expected ? grpc::Status::OK : status_, problem_);
    finished();
  }

  std::optional<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientAsyncReader<Payload>> rpc_;
  StreamRequest request_;
  Payload reply_;
  grpc::Status status_;
  bool cancelled_ = false;
  const char* problem_ = nullptr;
};

class idle_stream_slot final : public held_stream_slot {
 public:
  idle_stream_slot(worker& w, bench::v1::Bench::Stub& stub)
      : held_stream_slot(w, stub, "open-streams", -1, 0) {}

 private:
  void on_event(int op, bool ok) override {
    switch (op) {
      case op_start:
        // Headers prove the server holds the stream (count < 0 sends them at once).
        if (ok) {
          rpc_->ReadInitialMetadata(tag_for(op_meta));
        } else {
          finish();
        }
        return;
      case op_meta:
        if (ok) {
          established_ = true;
          w_.stream_established();
          rpc_->Read(&reply_, tag_for(op_read));  // completes only when the stream ends
        } else {
          finish();
        }
        return;
      case op_read:
        if (ok) {
          problem_ = "MESSAGE_ON_IDLE_STREAM";
          rpc_->Read(&reply_, tag_for(op_read));
        } else {
          finish();
        }
        return;
      case op_finish:
        if (!established_ && !problem_)
          problem_ = "NOT_ESTABLISHED";
        report_end();
        return;
      default:
        return;
    }
  }

  bool established_ = false;
};

class slow_reader_slot final : public held_stream_slot {
 public:
  slow_reader_slot(worker& w, bench::v1::Bench::Stub& stub)
      : held_stream_slot(w, stub, "slow-reader", INT_MAX, w.opts().payload) {}

  void stop() override {
    held_stream_slot::stop();
    alarm_.Cancel();
  }

 private:
  void on_event(int op, bool ok) override {
    switch (op) {
      case op_start:
        if (ok) {
          rpc_->Read(&reply_, tag_for(op_read));
        } else {
          finish();
        }
        return;
      case op_read:
        if (!ok) {
          finish();
          return;
        }
        {
          const auto now = clock::now();
          const bool right_size = reply_.data().size() == static_cast<size_t>(request_.size());
          if (!right_size)
            problem_ = "WRONG_SIZE";
          w_.message_done(kind_, now, now, reply_.data().size(),
                          right_size ? nullptr : "WRONG_SIZE", false);
        }
        // The slowness itself: the next read only after a pause.
        alarm_.Set(w_.cq(),
                   std::chrono::system_clock::now() +
                       std::chrono::milliseconds(w_.opts().read_interval_ms),
                   tag_for(op_alarm));
        return;
      case op_alarm:
        // Also after a cancel: the read then fails at once and ends the stream.
        rpc_->Read(&reply_, tag_for(op_read));
        return;
      case op_finish:
        report_end();
        return;
      default:
        return;
    }
  }

  grpc::Alarm alarm_;
};

}  // namespace

std::unique_ptr<slot> make_idle_stream_slot(worker& w, bench::v1::Bench::Stub& stub) {
  return std::make_unique<idle_stream_slot>(w, stub);
}

std::unique_ptr<slot> make_slow_reader_slot(worker& w, bench::v1::Bench::Stub& stub) {
  return std::make_unique<slow_reader_slot>(w, stub);
}

}  // namespace bench_client
