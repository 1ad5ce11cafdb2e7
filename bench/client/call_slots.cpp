// Slots that run one call at a time, start to finish: Unary, ServerStream and
// ClientStream. Every reply is checked against what was asked for.
#include "slots.h"

#include <optional>

namespace bench_client {

namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;
using bench::v1::Summary;

// `db_ms` > 0: the call asks for a slow query (bench-db-ms) instead of --delay-ms.
class unary_slot final : public slot {
 public:
  unary_slot(worker& w, bench::v1::Bench::Stub& stub, const char* kind, int db_ms)
      : slot(w, stub, kind), db_ms_(db_ms) {}

  void begin(clock::time_point scheduled) override {
    scheduled_ = scheduled;
    rpc_.reset();  // lives in the call's arena: release before its context
    ctx_.emplace();
    ctx_->set_deadline(deadline(false));
    if (db_ms_ > 0)
      ctx_->AddMetadata("bench-db-ms", std::to_string(db_ms_));
    else if (w_.opts().delay_ms > 0)
      ctx_->AddMetadata("bench-delay-ms", std::to_string(w_.opts().delay_ms));
    fill_payload(*request_.mutable_data(), static_cast<size_t>(w_.opts().payload),
                 w_.next_sequence());
    reply_.Clear();
    rpc_ = stub_.PrepareAsyncUnary(&*ctx_, request_, w_.cq());
    rpc_->StartCall();
    rpc_->Finish(&reply_, &status_, tag_for(0));
  }

 private:
  void on_event(int, bool) override {
    const char* problem = reply_.data() == request_.data() ? nullptr : "MISMATCH";
    w_.call_done(kind_, scheduled_, clock::now(), status_, problem, 1, reply_.data().size());
    finished();
  }

  const int db_ms_;
  std::optional<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Payload>> rpc_;
  Payload request_;
  Payload reply_;
  grpc::Status status_;
  clock::time_point scheduled_;
};

class server_stream_slot final : public slot {
 public:
  server_stream_slot(worker& w, bench::v1::Bench::Stub& stub, int messages)
      : slot(w, stub, "server-stream"), messages_(messages) {
    request_.set_count(messages);
    request_.set_size(w.opts().payload);
  }

  void begin(clock::time_point scheduled) override {
    scheduled_ = scheduled;
    received_ = 0;
    bytes_ = 0;
    wrong_size_ = false;
    rpc_.reset();
    ctx_.emplace();
    ctx_->set_deadline(deadline(false));
    rpc_ = stub_.PrepareAsyncServerStream(&*ctx_, request_, w_.cq());
    rpc_->StartCall(tag_for(op_start));
  }

 private:
  enum : int { op_start, op_read, op_finish };

  void on_event(int op, bool ok) override {
    if (op == op_finish) {
      const char* problem = wrong_size_              ? "WRONG_SIZE"
                            : received_ != messages_ ? "WRONG_COUNT"
                                                     : nullptr;
      w_.call_done(kind_, scheduled_, clock::now(), status_, problem, received_, bytes_);
      finished();
      return;
    }
    if (op == op_read && ok) {
      ++received_;
      bytes_ += reply_.data().size();
      if (reply_.data().size() != static_cast<size_t>(request_.size()))
        wrong_size_ = true;
    }
    if (ok) {
      rpc_->Read(&reply_, tag_for(op_read));
    } else {
      rpc_->Finish(&status_, tag_for(op_finish));
    }
  }

  const uint64_t messages_;
  std::optional<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientAsyncReader<Payload>> rpc_;
  StreamRequest request_;
  Payload reply_;
  grpc::Status status_;
  clock::time_point scheduled_;
  uint64_t received_ = 0;
  uint64_t bytes_ = 0;
  bool wrong_size_ = false;
};

class client_stream_slot final : public slot {
 public:
  client_stream_slot(worker& w, bench::v1::Bench::Stub& stub, int messages)
      : slot(w, stub, "client-stream"), messages_(messages) {}

  void begin(clock::time_point scheduled) override {
    scheduled_ = scheduled;
    sent_ = 0;
    summary_.Clear();
    rpc_.reset();
    ctx_.emplace();
    ctx_->set_deadline(deadline(false));
    rpc_ = stub_.PrepareAsyncClientStream(&*ctx_, &summary_, w_.cq());
    rpc_->StartCall(tag_for(op_start));
  }

 private:
  enum : int { op_start, op_write, op_writes_done, op_finish };

  void on_event(int op, bool ok) override {
    if (op == op_finish) {
      const auto size = static_cast<int64_t>(w_.opts().payload);
      const bool adds_up = summary_.count() == static_cast<int64_t>(sent_) &&
                           summary_.bytes() == static_cast<int64_t>(sent_) * size &&
                           sent_ == messages_;
      w_.call_done(kind_, scheduled_, clock::now(), status_, adds_up ? nullptr : "WRONG_SUMMARY",
                   sent_, sent_ * static_cast<uint64_t>(size));
      finished();
    } else if (!ok || op == op_writes_done) {
      // A failed write means the call is over; Finish tells how.
      rpc_->Finish(&status_, tag_for(op_finish));
    } else if (sent_ < messages_) {
      fill_payload(*message_.mutable_data(), static_cast<size_t>(w_.opts().payload),
                   w_.next_sequence());
      ++sent_;
      rpc_->Write(message_, tag_for(op_write));
    } else {
      rpc_->WritesDone(tag_for(op_writes_done));
    }
  }

  const uint64_t messages_;
  std::optional<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientAsyncWriter<Payload>> rpc_;
  Payload message_;
  Summary summary_;
  grpc::Status status_;
  clock::time_point scheduled_;
  uint64_t sent_ = 0;
};

}  // namespace

std::unique_ptr<slot> make_unary_slot(worker& w, bench::v1::Bench::Stub& stub) {
  return std::make_unique<unary_slot>(w, stub, "unary", 0);
}

std::unique_ptr<slot> make_db_load_slot(worker& w, bench::v1::Bench::Stub& stub) {
  return std::make_unique<unary_slot>(w, stub, "db-load", w.opts().db_ms);
}

std::unique_ptr<slot> make_server_stream_slot(worker& w, bench::v1::Bench::Stub& stub,
                                              int messages) {
  return std::make_unique<server_stream_slot>(w, stub, messages);
}

std::unique_ptr<slot> make_client_stream_slot(worker& w, bench::v1::Bench::Stub& stub,
                                              int messages) {
  return std::make_unique<client_stream_slot>(w, stub, messages);
}

}  // namespace bench_client
