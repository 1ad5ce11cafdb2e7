// The client's machinery: worker threads, each polling its own completion
// queue and driving a set of slots; a slot is one unit of concurrency that
// runs one call (or holds one stream) at a time.
#pragma once

#include "options.h"
#include "results.h"

#include "bench/v1/bench.grpc.pb.h"

#include <grpcpp/alarm.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <random>
#include <thread>
#include <vector>

namespace bench_client {

using clock = std::chrono::steady_clock;

// How long held streams may take to open, outside the measured hold: a
// minute, or a millisecond per stream when that is more (100,000 idle streams
// took about 35 s on two shared cores, client and server alike CPU-bound).
inline std::chrono::milliseconds establish_timeout(const options& o) {
  return std::chrono::milliseconds(std::max(60'000, o.concurrency));
}

// Completion-queue tags name a handler and which of its operations completed.
class handler {
 public:
  virtual ~handler() = default;
  virtual void on_event(int op, bool ok) = 0;
};

struct tag {
  handler* target;
  int op;
};

class worker;

class slot : public handler {
 public:
  slot(worker& w, bench::v1::Bench::Stub& stub, const char* kind);
  // Starts the next call; `scheduled` is when it was due (open loop) or now.
  virtual void begin(clock::time_point scheduled) = 0;
  // The run ends: a slot holding a stream ends it now.
  virtual void stop() {}
  // A slot run by another one (mixed) reports to it instead of the worker.
  void set_parent(slot* parent) { parent_ = parent; }
  // Background load (db-saturation): calls back to back from start to stop,
  // outside --rate's schedule.
  void set_background() { background_ = true; }
  bool background() const { return background_; }

 protected:
  static constexpr int max_ops = 8;
  void* tag_for(int op) { return &tags_[op]; }
  // The current call is over (its outcome already recorded).
  void finished();
  // A deadline for a call starting now; held streams add the run's length.
  std::chrono::system_clock::time_point deadline(bool held_stream) const;

  worker& w_;
  bench::v1::Bench::Stub& stub_;
  const char* kind_;

 private:
  slot* parent_ = nullptr;
  bool background_ = false;
  tag tags_[max_ops];
};

// When a run measures and when it stops, shared by all workers.
struct run_clock {
  clock::time_point measure_from;
  clock::time_point stop_at;
  // --count: calls left to start; unused (negative) when running by time.
  std::atomic<int64_t> tickets{-1};
};

class worker final : public handler {
 public:
  // `rate` is this worker's share of --rate.
  worker(const options& opts, run_clock& timing, uint64_t seed, double rate);
  ~worker() override;

  void add_slot(std::unique_ptr<slot> s) { slots_.push_back(std::move(s)); }
  grpc::CompletionQueue* cq() { return &cq_; }
  const options& opts() const { return opts_; }
  std::mt19937_64& rng() { return rng_; }

  void start();
  void join();
  // The worker's queue is drained: every call it made is over.
  bool done() const { return done_.load(std::memory_order_acquire); }
  // Thread-safe; also what ends a run by time (the stop alarm simply fires).
  void request_stop() { stop_alarm_.Cancel(); }
  const results_by_kind& results() const { return results_; }
  uint64_t dropped() const { return dropped_; }

  // --- for slots, on this worker's thread ---
  // More work may start: not stopping and, with --count, a call left.
  bool keep_going();
  bool stopping() const { return stopping_; }
  // Unique per run, embedded in payloads so a mixed-up echo is caught.
  uint64_t next_sequence() { return sequence_++; }
  void call_done(const char* kind, clock::time_point start, clock::time_point end,
                 const grpc::Status& status, const char* problem, uint64_t messages, uint64_t bytes,
                 bool timed = true);
  void message_done(const char* kind, clock::time_point sent, clock::time_point received,
                    uint64_t bytes, const char* problem, bool with_latency);
  // A held stream ended; it is not timed, only checked and counted.
  void stream_done(const char* kind, const grpc::Status& status, const char* problem);
  void stream_established() { established.fetch_add(1, std::memory_order_relaxed); }
  void slot_finished(slot& s);

  // Read by the progress line and the open-streams scenario while running.
  std::atomic<uint64_t> progress_units{0};
  std::atomic<uint64_t> progress_errors{0};
  std::atomic<int> established{0};

 private:
  std::atomic<bool> done_{false};

 private:
  enum : int { op_stop, op_tick };
  void on_event(int op, bool ok) override;
  void run();
  void tick();
  void maybe_shutdown();
  void maybe_end_counted_run();
  bool in_window(clock::time_point start, clock::time_point end) const;
  void count_error(const char* kind, const grpc::Status& status, const char* problem);

  const options& opts_;
  run_clock& timing_;
  grpc::CompletionQueue cq_;
  std::vector<std::unique_ptr<slot>> slots_;
  std::thread thread_;
  std::mt19937_64 rng_;
  uint64_t sequence_;
  results_by_kind results_;

  grpc::Alarm stop_alarm_;
  tag stop_tag_{this, op_stop};
  bool stopping_ = false;
  bool shut_down_ = false;
  int active_ = 0;

  // Open loop: calls are due at fixed times; a call due while every slot is
  // busy waits in the backlog and its latency counts from when it was due.
  grpc::Alarm tick_alarm_;
  tag tick_tag_{this, op_tick};
  bool tick_pending_ = false;
  const double rate_;
  clock::time_point open_loop_start_;
  uint64_t issued_ = 0;
  std::vector<slot*> idle_;
  std::deque<clock::time_point> backlog_;
  uint64_t dropped_ = 0;
};

}  // namespace bench_client
