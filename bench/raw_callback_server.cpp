// bench-raw-callback: bench.v1.Bench on grpc++'s callback API (reactors), the
// API Troupe's transport builds on. Measured next to bench-raw-cq because the
// two APIs differ clearly in cost per call on few cores.
#include "server_runtime.h"

#include "bench/v1/bench.grpc.pb.h"

#include <grpcpp/alarm.h>

#include <atomic>
#include <deque>
#include <mutex>

namespace {

using bench::v1::Bench;
using bench::v1::Payload;
using bench::v1::StreamRequest;
using bench::v1::Summary;

// Unary with bench-delay-ms: a callback alarm finishes the call later, so no
// gRPC thread sleeps. A cancelled call cancels the alarm (shutdown included).
class delayed_unary final : public grpc::ServerUnaryReactor {
 public:
  delayed_unary(const Payload& request, Payload* response, int delay_ms) {
    *response = request;
    alarm_.Set(std::chrono::system_clock::now() + std::chrono::milliseconds(delay_ms),
               [this](bool) { Finish(grpc::Status::OK); });
  }

 private:
  void OnCancel() override { alarm_.Cancel(); }
  void OnDone() override { delete this; }

  grpc::Alarm alarm_;
};

class server_stream final : public grpc::ServerWriteReactor<Payload> {
 public:
  explicit server_stream(const StreamRequest& request) {
    if (request.count() < 0) {
      // Idle stream: headers now, then silence until OnCancel (cancel or deadline).
      idle_ = true;
      StartSendInitialMetadata();
      return;
    }
    if (request.size() > bench::max_stream_message_bytes) {
      finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "size above 4 MiB"));
      return;
    }
    message_.set_data(std::string(static_cast<size_t>(std::max(request.size(), 0)), 'x'));
    left_ = request.count();
    write_next();
  }

 private:
  void OnWriteDone(bool ok) override {
    if (ok) {
      write_next();
    } else {
      finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
    }
  }
  // A sending stream always has a write in flight and learns of a cancel from
  // its failure, so that Finish never overlaps a write; an idle one only from here.
  void OnCancel() override {
    if (idle_)
      finish(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

  void write_next() {
    if (left_ == 0) {
      finish(grpc::Status::OK);
    } else if (left_ == 1) {
      left_ = 0;
      if (!finished_.exchange(true))
        StartWriteAndFinish(&message_, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      --left_;
      StartWrite(&message_);
    }
  }

  void finish(const grpc::Status& status) {
    if (!finished_.exchange(true))
      Finish(status);
  }

  Payload message_;
  int left_ = 0;
  bool idle_ = false;
  // OnCancel and OnWriteDone may run at once on different threads.
  std::atomic<bool> finished_{false};
};

class client_stream final : public grpc::ServerReadReactor<Payload> {
 public:
  explicit client_stream(Summary* summary) : summary_(summary) { StartRead(&in_); }

 private:
  void OnReadDone(bool ok) override {
    if (!ok) {  // half-close, or cancel (then the status is not sent)
      Finish(grpc::Status::OK);
      return;
    }
    summary_->set_count(summary_->count() + 1);
    summary_->set_bytes(summary_->bytes() + static_cast<int64_t>(in_.data().size()));
    StartRead(&in_);
  }
  void OnDone() override { delete this; }

  Summary* summary_;
  Payload in_;
};

// Echoes in order, reading ahead a few messages while an echo is written.
// OnReadDone and OnWriteDone may run at once on different threads: the state
// is decided under the lock, the operations are started after it is released
// (a reaction may run inline in a Start call).
class bidi final : public grpc::ServerBidiReactor<Payload, Payload> {
 public:
  bidi() { pump(); }

 private:
  static constexpr size_t read_ahead = 8;

  void OnReadDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = false;
      if (ok) {
        queue_.push_back(std::move(in_));
      } else {
        half_closed_ = true;
      }
    }
    pump();
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      queue_.pop_front();
      if (!ok)
        failed_ = true;
    }
    pump();
  }

  void OnDone() override { delete this; }

  void pump() {
    const Payload* to_write = nullptr;
    bool read = false;
    bool finish = false;
    bool ok = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_)
        return;
      if (!writing_ && !queue_.empty() && !failed_) {
        writing_ = true;
        to_write = &queue_.front();
      }
      if (!reading_ && !half_closed_ && !failed_ && queue_.size() < read_ahead) {
        reading_ = true;
        read = true;
      }
      if ((half_closed_ || failed_) && !reading_ && !writing_) {
        finished_ = true;
        finish = true;
        ok = !failed_;
      }
    }
    if (to_write)
      StartWrite(to_write);
    if (read)
      StartRead(&in_);
    if (finish)
      Finish(ok ? grpc::Status::OK : grpc::Status::CANCELLED);
  }

  std::mutex mu_;
  Payload in_;
  // A deque keeps the front element in place while reads append behind it.
  std::deque<Payload> queue_;
  bool reading_ = false;
  bool writing_ = false;
  bool half_closed_ = false;
  bool failed_ = false;
  bool finished_ = false;
};

class bench_service final : public Bench::CallbackService {
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, const Payload* request,
                                  Payload* response) override {
    if (const int delay = bench::requested_delay_ms(*ctx); delay > 0) {
      return new delayed_unary(*request, response, delay);
    }
    *response = *request;
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<Payload>* ServerStream(grpc::CallbackServerContext*,
                                                  const StreamRequest* request) override {
    return new server_stream(*request);
  }

  grpc::ServerReadReactor<Payload>* ClientStream(grpc::CallbackServerContext*,
                                                 Summary* summary) override {
    return new client_stream(summary);
  }

  grpc::ServerBidiReactor<Payload, Payload>* Bidi(grpc::CallbackServerContext*) override {
    return new bidi();
  }
};

}  // namespace

int main(int argc, char** argv) {
  bench::server_options opts;
  int exit_code = 0;
  if (!bench::parse_server_options(argc, argv, "bench.v1.Bench on the grpc++ callback API", false,
                                   opts, exit_code)) {
    return exit_code;
  }
  bench::block_stop_signals();

  bench_service service;
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  int port = 0;
  auto server = bench::build_and_start(builder, opts, port);
  if (!server)
    return 1;
  bench::announce_listening(opts, port);

  bench::wait_for_stop_signal();
  server->Shutdown(std::chrono::system_clock::now() + bench::shutdown_grace);
  return 0;
}
