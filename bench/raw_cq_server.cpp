// bench-raw-cq: bench.v1.Bench on grpc++'s completion-queue API, in the shape of
// grpc_bench's cpp_grpc_mt (one ServerCompletionQueue and one polling thread per
// core, many calls pre-posted on each queue). It is the fastest way to serve the
// contract with grpc++ and so the reference Troupe is measured against: it gets
// the same care as a real server, not a handicap.
#include "server_runtime.h"

#include "bench/v1/bench.grpc.pb.h"

#include <grpcpp/alarm.h>

#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

namespace {

using bench::v1::Bench;
using bench::v1::Payload;
using bench::v1::StreamRequest;
using bench::v1::Summary;

enum op : int { op_request, op_read, op_write, op_finish, op_done, op_meta, op_alarm, op_count };

struct worker;

// A call's operations all complete on its worker's queue, each with a tag naming
// the call and the operation. A call lives exactly while any operation is
// pending, which makes its lifetime independent of the order tags come back in.
class call_base {
 public:
  struct tag {
    call_base* call;
    op kind;
  };

  explicit call_base(worker& w) : w_(w) {
    for (int i = 0; i < op_count; ++i) tags_[i] = {this, static_cast<op>(i)};
  }
  virtual ~call_base() = default;
  call_base(const call_base&) = delete;
  call_base& operator=(const call_base&) = delete;

  // While draining (server stopped, queue shutting down) no operation may be
  // started, so events only release the call.
  void on_event(op kind, bool ok, bool draining) {
    --pending_;
    if (kind == op_request && !ok) {
      // Never started: gRPC will not deliver the done tag either.
      if (watching_done_)
        --pending_;
    } else if (!draining) {
      handle(kind, ok);
    }
    if (pending_ == 0)
      delete this;
  }

 protected:
  void* start(op kind) {
    ++pending_;
    return &tags_[kind];
  }
  // Streaming calls learn of cancellation from the done tag; it must be asked
  // for before the call is requested.
  void watch_done() {
    watching_done_ = true;
    ctx_.AsyncNotifyWhenDone(start(op_done));
  }
  virtual void handle(op kind, bool ok) = 0;

  worker& w_;
  grpc::ServerContext ctx_;

 private:
  int pending_ = 0;
  bool watching_done_ = false;
  tag tags_[op_count];
};

struct worker {
  Bench::AsyncService* service = nullptr;
  std::unique_ptr<grpc::ServerCompletionQueue> cq;
  std::thread thread;
  // Guards `draining` against the thread that shuts the queue down; it is only
  // ever contended at shutdown.
  std::mutex mu;
  bool draining = false;
  // Delayed unary calls' alarms, cancelled at shutdown so that a long
  // bench-delay-ms cannot hold the process.
  std::unordered_set<grpc::Alarm*> alarms;

  void run() {
    void* raw = nullptr;
    bool ok = false;
    while (cq->Next(&raw, &ok)) {
      auto* t = static_cast<call_base::tag*>(raw);
      std::lock_guard<std::mutex> lock(mu);
      t->call->on_event(t->kind, ok, draining);
    }
  }

  void drain() {
    std::lock_guard<std::mutex> lock(mu);
    draining = true;
    for (auto* alarm : alarms) alarm->Cancel();
    alarms.clear();
  }
};

class unary_call final : public call_base {
 public:
  explicit unary_call(worker& w) : call_base(w) {
    w.service->RequestUnary(&ctx_, &request_, &responder_, w.cq.get(), w.cq.get(),
                            start(op_request));
  }

 private:
  void handle(op kind, bool) override {
    if (kind == op_request) {
      new unary_call(w_);
      if (const int delay = bench::requested_delay_ms(ctx_); delay > 0) {
        // An alarm, not a sleeping thread: the queue's thread keeps serving.
        w_.alarms.insert(&alarm_);
        alarm_.Set(w_.cq.get(), std::chrono::system_clock::now() + std::chrono::milliseconds(delay),
                   start(op_alarm));
        return;
      }
      responder_.Finish(request_, grpc::Status::OK, start(op_finish));
    } else if (kind == op_alarm) {
      w_.alarms.erase(&alarm_);
      responder_.Finish(request_, grpc::Status::OK, start(op_finish));
    }
  }

  Payload request_;
  grpc::ServerAsyncResponseWriter<Payload> responder_{&ctx_};
  grpc::Alarm alarm_;
};

class server_stream_call final : public call_base {
 public:
  explicit server_stream_call(worker& w) : call_base(w) {
    watch_done();
    w.service->RequestServerStream(&ctx_, &request_, &writer_, w.cq.get(), w.cq.get(),
                                   start(op_request));
  }

 private:
  void handle(op kind, bool ok) override {
    if (kind == op_request) {
      new server_stream_call(w_);
      if (request_.count() < 0) {
        // Idle stream: headers now, then silence until the done tag reports
        // the client's cancel or deadline.
        writer_.SendInitialMetadata(start(op_meta));
        return;
      }
      if (request_.size() > bench::max_stream_message_bytes) {
        writer_.Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "size above 4 MiB"),
                       start(op_finish));
        return;
      }
      message_.set_data(std::string(static_cast<size_t>(std::max(request_.size(), 0)), 'x'));
      left_ = request_.count();
      write_next();
    } else if (kind == op_write && ok) {
      write_next();
    }
    // A failed write means the client is gone; the done tag then ends the call.
  }

  void write_next() {
    if (left_ == 0) {
      writer_.Finish(grpc::Status::OK, start(op_finish));
    } else if (left_ == 1) {
      left_ = 0;
      writer_.WriteAndFinish(message_, grpc::WriteOptions(), grpc::Status::OK, start(op_finish));
    } else {
      --left_;
      writer_.Write(message_, start(op_write));
    }
  }

  StreamRequest request_;
  grpc::ServerAsyncWriter<Payload> writer_{&ctx_};
  Payload message_;
  int left_ = 0;
};

class client_stream_call final : public call_base {
 public:
  explicit client_stream_call(worker& w) : call_base(w) {
    watch_done();
    w.service->RequestClientStream(&ctx_, &reader_, w.cq.get(), w.cq.get(), start(op_request));
  }

 private:
  void handle(op kind, bool ok) override {
    if (kind == op_request) {
      new client_stream_call(w_);
      reader_.Read(&in_, start(op_read));
    } else if (kind == op_read) {
      if (!ok) {  // half-close (or cancel, in which case Finish is a no-op)
        reader_.Finish(summary_, grpc::Status::OK, start(op_finish));
        return;
      }
      summary_.set_count(summary_.count() + 1);
      summary_.set_bytes(summary_.bytes() + static_cast<int64_t>(in_.data().size()));
      reader_.Read(&in_, start(op_read));
    }
  }

  grpc::ServerAsyncReader<Summary, Payload> reader_{&ctx_};
  Payload in_;
  Summary summary_;
};

// Echoes in order. Reading goes on while an echo is being written, up to a
// small window, so a pipelining client is not held to one message per round trip.
class bidi_call final : public call_base {
 public:
  explicit bidi_call(worker& w) : call_base(w) {
    watch_done();
    w.service->RequestBidi(&ctx_, &stream_, w.cq.get(), w.cq.get(), start(op_request));
  }

 private:
  static constexpr size_t read_ahead = 8;

  void handle(op kind, bool ok) override {
    if (kind == op_read) {
      reading_ = false;
      if (ok) {
        queue_.push_back(std::move(in_));
      } else {
        half_closed_ = true;
      }
    } else if (kind == op_write) {
      writing_ = false;
      queue_.pop_front();
      if (!ok)
        failed_ = true;  // client gone; the done tag ends the call
    } else if (kind == op_request) {
      new bidi_call(w_);
    } else {
      return;
    }
    pump();
  }

  void pump() {
    if (failed_ || finished_)
      return;
    if (!writing_ && !queue_.empty()) {
      writing_ = true;
      stream_.Write(queue_.front(), start(op_write));
    }
    if (!reading_ && !half_closed_ && queue_.size() < read_ahead) {
      reading_ = true;
      stream_.Read(&in_, start(op_read));
    }
    if (half_closed_ && !reading_ && !writing_ && queue_.empty()) {
      finished_ = true;
      stream_.Finish(grpc::Status::OK, start(op_finish));
    }
  }

  grpc::ServerAsyncReaderWriter<Payload, Payload> stream_{&ctx_};
  Payload in_;
  // A deque keeps the front element in place while reads append behind it.
  std::deque<Payload> queue_;
  bool reading_ = false;
  bool writing_ = false;
  bool half_closed_ = false;
  bool failed_ = false;
  bool finished_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  bench::server_options opts;
  int exit_code = 0;
  if (!bench::parse_server_options(argc, argv, "bench.v1.Bench on grpc++ completion queues", true,
                                   opts, exit_code)) {
    return exit_code;
  }
  bench::block_stop_signals();

  Bench::AsyncService service;
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::vector<std::unique_ptr<worker>> workers;
  for (int i = 0; i < opts.threads; ++i) {
    workers.push_back(std::make_unique<worker>());
    workers.back()->service = &service;
    workers.back()->cq = builder.AddCompletionQueue();
  }
  int port = 0;
  auto server = bench::build_and_start(builder, opts, port);
  if (!server)
    return 1;

  for (auto& w : workers) {
    for (int i = 0; i < opts.prepost; ++i) {
      new unary_call(*w);
      new server_stream_call(*w);
      new client_stream_call(*w);
      new bidi_call(*w);
    }
    w->thread = std::thread([&w] { w->run(); });
  }
  bench::announce_listening(opts, port);

  bench::wait_for_stop_signal();
  server->Shutdown(std::chrono::system_clock::now() + bench::shutdown_grace);
  for (auto& w : workers) w->drain();
  for (auto& w : workers) w->cq->Shutdown();
  for (auto& w : workers) w->thread.join();
  return 0;
}
