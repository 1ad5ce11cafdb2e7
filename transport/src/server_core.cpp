#include "server_core.hpp"

#include <exception>

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "troupe/detail/call_endpoint.hpp"

namespace troupe::detail {

std::unique_ptr<call_registration> call_registry::add(const caf::actor& actor) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = actors_.insert(actors_.end(), caf::actor_cast<caf::weak_actor_ptr>(actor));
  if (draining_)
    caf::anon_send(actor, draining{});
  return std::make_unique<call_registration>(*this, it);
}

call_registration::~call_registration() {
  std::lock_guard<std::mutex> lk(registry_.mu_);
  registry_.actors_.erase(it_);
}

void call_registry::drain() {
  list copy;
  {
    std::lock_guard<std::mutex> lk(mu_);
    draining_ = true;
    copy = actors_;
  }
  // Outside the lock: calls ending meanwhile need not wait for the sends.
  for (auto& weak : copy) {
    if (auto actor = caf::actor_cast<caf::actor>(weak))
      caf::anon_send(actor, draining{});
  }
}

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

void server_core::call_done(admission a) {
  if (a != admission::none)
    --inflight;
  if (a == admission::anonymous)
    --inflight_anonymous;
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
