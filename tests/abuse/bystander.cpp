#include "bystander.hpp"

#include <algorithm>

namespace troupe::test {

using namespace std::chrono_literals;

bystander::bystander(const test_server& server)
    : stub_(server.bench(4242)), peak_rss_(rss_kib()) {
  caller_ = std::thread([this] { call_loop(); });
  sampler_ = std::thread([this] { sample_loop(); });
}

bystander::~bystander() {
  stop();
}

void bystander::stop() {
  stop_ = true;
  if (caller_.joinable())
    caller_.join();
  if (sampler_.joinable())
    sampler_.join();
}

void bystander::call_loop() {
  bench::v1::Payload req;
  req.set_data("well-behaved");
  while (!stop_) {
    grpc::ClientContext ctx;
    // Generous for a loaded 2-core machine; a starved caller still fails it.
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    bench::v1::Payload resp;
    auto started = std::chrono::steady_clock::now();
    auto st = stub_->Unary(&ctx, req, &resp);
    long ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    slowest_ms_ = std::max(slowest_ms_.load(), ms);
    if (st.ok() && resp.data() == req.data()) {
      ++ok_;
      continue;
    }
    ++failed_;
    std::lock_guard<std::mutex> lock(mutex_);
    if (first_failure_.empty())
      first_failure_ = std::to_string(st.error_code()) + " " + st.error_message();
  }
}

void bystander::sample_loop() {
  // A sampling period, not synchronisation: the peak may fall between samples,
  // so the bound checked with it is generous.
  while (!stop_) {
    peak_rss_ = std::max(peak_rss_.load(), rss_kib());
    std::this_thread::sleep_for(2ms);
  }
}

bool bystander::wait_for_more(long n, std::chrono::milliseconds timeout) {
  long target = ok_ + n;
  return wait_until([&] { return ok_ >= target || failed_ > 0; }, timeout) && ok_ >= target;
}

std::string bystander::first_failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return first_failure_;
}

}  // namespace troupe::test
