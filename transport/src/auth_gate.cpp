#include "auth_gate.hpp"

#include <spdlog/spdlog.h>

namespace troupe::detail {

std::optional<failure_limiter::ticket> failure_limiter::reserve(const std::string& address, long& retry_in_s) {
  std::lock_guard<std::mutex> lk(mu_);
  // Taken under the lock, so that windows enter by_start_ in start order.
  auto now = clock::now();
  while (!by_start_.empty() && now - by_start_.front()->second.start >= window_) {
    windows_.erase(windows_.find(by_start_.front()->first));
    by_start_.pop_front();
  }
  ticket t;
  window* w = nullptr;
  if (auto it = windows_.find(address); it != windows_.end()) {
    w = &it->second;
    t.address = address;
  } else if (windows_.size() < max_addresses) {
    auto& e = *windows_.emplace(address, window{now, next_id_++}).first;
    by_start_.push_back(&e);
    w = &e.second;
    t.address = address;
  } else {
    if (shared_.id == 0 || now - shared_.start >= window_) {
      shared_ = window{now, next_id_++};
      spdlog::warn("auth: {} client addresses have unknown keys counted; further addresses share one "
                   "limit until their windows end",
                   max_addresses);
    }
    w = &shared_;
    t.shared = true;
  }
  if (w->pending + w->failures >= max_) {
    retry_in_s = std::max<long>(1, std::chrono::ceil<std::chrono::seconds>(w->start + window_ - now).count());
    return std::nullopt;
  }
  ++w->pending;
  t.window = w->id;
  return t;
}

failure_limiter::window* failure_limiter::find(const ticket& t) {
  window* w = &shared_;
  if (!t.shared) {
    auto it = windows_.find(t.address);
    if (it == windows_.end())
      return nullptr;
    w = &it->second;
  }
  // A look-up that outlived its window counts in no later one.
  return w->id == t.window ? w : nullptr;
}

void failure_limiter::settle(const ticket& t, bool failed) {
  std::lock_guard<std::mutex> lk(mu_);
  auto* w = find(t);
  if (!w)
    return;
  --w->pending;
  if (failed && ++w->failures == max_)
    spdlog::warn("auth: {} invalid API keys from {}; refusing its unknown keys for the rest of the window", max_,
                 t.shared ? "the addresses past the tracked ones" : t.address);
}

std::string peer_address(const std::string& peer) {
  auto colon = peer.rfind(':');
  auto first = peer.find(':');
  // "unix:/path" or anything without a port stays whole.
  if (colon == std::string::npos || colon == first)
    return peer;
  return peer.substr(0, colon);
}

auth_gate::auth_gate(const auth_config& cfg, std::shared_ptr<key_checker> checker)
    : header_(cfg.header),
      require_(cfg.require_auth),
      public_(cfg.public_methods.begin(), cfg.public_methods.end()),
      checker_(std::move(checker)),
      limiter_(std::make_shared<failure_limiter>(
        cfg.max_failures, std::chrono::duration_cast<failure_limiter::clock::duration>(
                            std::chrono::duration<double>(cfg.failure_window_s)))) {}

std::optional<auth_verdict> auth_gate::check(const grpc::GenericServerContext& ctx,
                                             key_checker::reply later) {
  auto& md = ctx.client_metadata();
  auto it = md.find(header_);
  if (it == md.end()) {
    if (require_)
      return auth_verdict::deny(unauthenticated("missing API key (metadata " + header_ + ")"));
    return auth_verdict{};
  }
  std::string_view key(it->second.data(), it->second.size());
  // Set when the key is unknown and its look-up got a place; read by the
  // reply, which runs after the look-up started.
  auto ticket = std::make_shared<std::optional<failure_limiter::ticket>>();
  // Only unknown keys build the peer string and reach the limiter.
  auto admit = [&]() -> std::optional<auth_verdict> {
    long wait = 0;
    *ticket = limiter_->reserve(peer_address(ctx.peer()), wait);
    if (*ticket)
      return std::nullopt;
    return auth_verdict::deny(
      resource_exhausted("too many invalid API keys from this address; retry in " + std::to_string(wait) + " s"));
  };
  auto on_later = [limiter = limiter_, ticket, later = std::move(later)](auth_verdict v) {
    if (*ticket)
      limiter->settle(**ticket, v.st.error_code() == status_code::UNAUTHENTICATED);
    later(std::move(v));
  };
  return checker_->check(key, admit, std::move(on_later));
}

}  // namespace troupe::detail
