// The well-behaved client next to an abuser: Unary calls in a loop on its own
// channel and thread, each with a deadline, counting what succeeded; and the
// server process's resident memory, sampled while it runs.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "support/test_server.hpp"

namespace troupe::test {

class bystander {
public:
  explicit bystander(const test_server& server);
  ~bystander();  // stops

  // Waits until `n` more calls succeeded than when it was called.
  bool wait_for_more(long n, std::chrono::milliseconds timeout);
  void stop();

  long ok() const { return ok_; }
  long failed() const { return failed_; }
  std::string first_failure() const;
  std::chrono::milliseconds slowest() const { return std::chrono::milliseconds(slowest_ms_.load()); }
  // Highest rss_kib() seen since construction (sampled about every 2 ms).
  long peak_rss_kib() const { return peak_rss_; }

private:
  void call_loop();
  void sample_loop();

  std::unique_ptr<bench::v1::Bench::Stub> stub_;
  std::atomic<bool> stop_{false};
  std::atomic<long> ok_{0}, failed_{0}, slowest_ms_{0}, peak_rss_{0};
  mutable std::mutex mutex_;
  std::string first_failure_;
  std::thread caller_, sampler_;
};

}  // namespace troupe::test
