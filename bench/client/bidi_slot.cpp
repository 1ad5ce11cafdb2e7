// A Bidi stream per slot. Ping-pong keeps one message in flight and times each
// round trip; pipelined keeps up to `window` in flight. Echoes must come back
// in order, byte for byte, and all of them before the server's OK.
#include "slots.h"

#include <optional>

namespace bench_client {

namespace {

using bench::v1::Payload;

class bidi_slot final : public slot {
 public:
  bidi_slot(worker& w, bench::v1::Bench::Stub& stub, int window, int limit)
      : slot(w, stub, "bidi"),
        window_(static_cast<size_t>(window)),
        limit_(static_cast<uint64_t>(limit)) {}

  void begin(clock::time_point scheduled) override {
    scheduled_ = scheduled;
    in_flight_.clear();
    sent_ = 0;
    writing_ = false;
    writes_done_ = false;
    reads_done_ = false;
    finishing_ = false;
    problem_ = nullptr;
    rpc_.reset();
    ctx_.emplace();
    ctx_->set_deadline(deadline(limit_ == 0));
    rpc_ = stub_.PrepareAsyncBidi(&*ctx_, w_.cq());
    rpc_->StartCall(tag_for(op_start));
  }

 private:
  enum : int { op_start, op_write, op_writes_done, op_read, op_finish };

  struct sent_message {
    uint64_t sequence;
    clock::time_point at;
  };

  void on_event(int op, bool ok) override {
    switch (op) {
      case op_start:
        if (!ok) {
          reads_done_ = writes_done_ = true;
          break;
        }
        rpc_->Read(&reply_, tag_for(op_read));
        pump_writes();
        break;
      case op_write:
        writing_ = false;
        if (!ok)
          writes_done_ = true;  // stream broken: the read side ends it
        pump_writes();
        break;
      case op_writes_done:
        writing_ = false;
        break;
      case op_read:
        if (!ok) {
          reads_done_ = true;
          break;
        }
        check_echo();
        rpc_->Read(&reply_, tag_for(op_read));
        pump_writes();
        break;
      case op_finish: {
        // Every message sent must have come back before the server's OK.
        if (!problem_ && !in_flight_.empty())
          problem_ = "MISSING_ECHO";
        if (limit_ > 0) {
          // A short stream (mixed) is one call; its messages were timed one by one.
          w_.call_done(kind_, scheduled_, clock::now(), status_, problem_, 0, 0, false);
        } else {
          w_.stream_done(kind_, status_, problem_);
        }
        finished();
        return;
      }
      default:
        return;
    }
    try_finish();
  }

  void check_echo() {
    const auto now = clock::now();
    if (in_flight_.empty()) {
      problem_ = "UNEXPECTED_ECHO";
      w_.message_done(kind_, now, now, 0, problem_, false);
      return;
    }
    const sent_message sent = in_flight_.front();
    in_flight_.pop_front();
    fill_payload(expected_, static_cast<size_t>(w_.opts().payload), sent.sequence);
    const char* problem = reply_.data() == expected_ ? nullptr : "MISMATCH";
    if (problem)
      problem_ = problem;
    w_.message_done(kind_, sent.at, now, reply_.data().size(), problem, true);
  }

  void pump_writes() {
    if (writing_ || writes_done_ || in_flight_.size() >= window_)
      return;
    const bool more = (limit_ == 0 || sent_ < limit_) && w_.keep_going();
    writing_ = true;
    if (!more) {
      writes_done_ = true;
      rpc_->WritesDone(tag_for(op_writes_done));
      return;
    }
    const uint64_t sequence = w_.next_sequence();
    fill_payload(*out_.mutable_data(), static_cast<size_t>(w_.opts().payload), sequence);
    in_flight_.push_back({sequence, clock::now()});
    ++sent_;
    rpc_->Write(out_, tag_for(op_write));
  }

  // Finish once the server has ended the stream and no write is outstanding.
  void try_finish() {
    if (reads_done_ && !writing_ && !finishing_) {
      finishing_ = true;
      rpc_->Finish(&status_, tag_for(op_finish));
    }
  }

  const size_t window_;
  const uint64_t limit_;
  std::optional<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<Payload, Payload>> rpc_;
  Payload out_;
  Payload reply_;
  std::string expected_;
  grpc::Status status_;
  std::deque<sent_message> in_flight_;
  clock::time_point scheduled_;
  uint64_t sent_ = 0;
  bool writing_ = false;
  bool writes_done_ = false;
  bool reads_done_ = false;
  bool finishing_ = false;
  const char* problem_ = nullptr;
};

}  // namespace

std::unique_ptr<slot> make_bidi_slot(worker& w, bench::v1::Bench::Stub& stub, int window,
                                     int limit) {
  return std::make_unique<bidi_slot>(w, stub, window, limit);
}

}  // namespace bench_client
