#include "server_core.hpp"

#include <exception>

#include <spdlog/spdlog.h>

#include "troupe/detail/call_endpoint.hpp"

namespace troupe::detail {

void server_core::post_accept(grpc::ServerCompletionQueue* cq, int index) {
  // Owned by itself while the accept is pending (see call_endpoint::start).
  auto ep = std::make_shared<call_endpoint>(shared_from_this(), cq);
  if (index >= 0)
    ep->post_accept(raw, index);
  else
    ep->post_accept(unknown);
}

void server_core::endpoint_destroyed() {
  if (--endpoints == 0) {
    std::lock_guard<std::mutex> lk(drain_mu);
    drain_cv.notify_all();
  }
}

void server_core::call_done(bool admitted) {
  if (admitted)
    --inflight;
  if (--live_calls == 0) {
    std::lock_guard<std::mutex> lk(drain_mu);
    drain_cv.notify_all();
  }
}

void server_core::report(const call_record& r) const {
  log_call(r);
  if (!call_observer)
    return;
  try {
    call_observer(r);
  } catch (const std::exception& e) {
    // A transport thread must survive whatever the observer does.
    spdlog::error("request log observer failed: {}", e.what());
  }
}

bool server_core::wait_for_zero(std::atomic<int>& counter, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(drain_mu);
  return drain_cv.wait_for(lk, timeout, [&] { return counter.load() == 0; });
}

}  // namespace troupe::detail
