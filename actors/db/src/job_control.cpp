#include "job_control.hpp"

namespace troupe::db {

void job_control::begin(uint64_t job, clock::time_point deadline) {
  std::lock_guard<std::mutex> guard(mutex_);
  job_ = job;
  deadline_ = deadline;
  cancelled_.store(false, std::memory_order_release);
}

void job_control::end() {
  std::lock_guard<std::mutex> guard(mutex_);
  job_ = 0;
  deadline_ = clock::time_point::max();
  cancelled_.store(false, std::memory_order_release);
}

void job_control::cancel(uint64_t job) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (job == 0 || job != job_ || cancelled_.load(std::memory_order_acquire))
    return;
  cancelled_.store(true, std::memory_order_release);
  if (interrupter_)
    interrupter_();
}

void job_control::set_interrupter(std::function<void()> f) {
  std::lock_guard<std::mutex> guard(mutex_);
  interrupter_ = std::move(f);
}

bool job_control::should_stop() const {
  return cancel_requested() || (deadline_ != clock::time_point::max() && clock::now() >= deadline_);
}

errc job_control::stop_code() const {
  return cancel_requested() ? errc::cancelled : errc::deadline;
}

void job_control::check() const {
  if (!should_stop())
    return;
  throw failure(stop_code(), stop_code() == errc::cancelled ? "the requester went away"
                                                            : "the job ran past its deadline");
}

}  // namespace troupe::db
