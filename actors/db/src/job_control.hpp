// The link between the pool (any thread) and the job a worker is running: the
// pool asks for a job to stop, the worker's connection notices. Cancelling
// names the job, so a request that arrives after its job ended cannot stop the
// next one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

#include "troupe/db/errors.hpp"

namespace troupe::db {

class job_control {
public:
  using clock = std::chrono::steady_clock;

  // Worker thread: a job starts / ended.
  void begin(uint64_t job, clock::time_point deadline);
  void end();

  // Any thread: stops `job` if it is running. The first request for a job
  // also calls the connection's interrupter (which must not block).
  void cancel(uint64_t job);

  // Set by the connection while it is open; called under the lock, so the
  // connection cannot close while an interrupt is under way.
  void set_interrupter(std::function<void()> f);

  // Worker thread: has the running job been asked to stop, or run out of time?
  bool should_stop() const;
  // Precondition: should_stop(). errc::cancelled or errc::deadline.
  errc stop_code() const;
  // Throws failure{stop_code()} when should_stop().
  void check() const;

  bool cancel_requested() const noexcept { return cancelled_.load(std::memory_order_acquire); }
  clock::time_point deadline() const noexcept { return deadline_; }

private:
  std::mutex mutex_;
  uint64_t job_ = 0;
  std::function<void()> interrupter_;
  std::atomic<bool> cancelled_{false};
  // Written and read by the worker thread only.
  clock::time_point deadline_ = clock::time_point::max();
};

}  // namespace troupe::db
