#include "auth_gate.hpp"

#include <spdlog/spdlog.h>

namespace troupe::detail {

namespace {

// Addresses remembered before expired windows are swept out.
constexpr size_t sweep_above = 10'000;

}  // namespace

long failure_limiter::blocked_for(const std::string& address, clock::time_point now) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = windows_.find(address);
  if (it == windows_.end())
    return 0;
  auto left = it->second.start + window_ - now;
  if (left <= clock::duration::zero()) {
    windows_.erase(it);  // its window is over: forget it
    watching_ = !windows_.empty();
    return 0;
  }
  if (it->second.failures < max_)
    return 0;
  return std::chrono::ceil<std::chrono::seconds>(left).count();
}

void failure_limiter::count(const grpc::ServerContext& ctx, const auth_verdict& v) {
  if (v.st.error_code() != status_code::UNAUTHENTICATED)
    return;  // a valid key, or keys could not be looked up: not a guess
  auto address = peer_address(ctx.peer());
  auto now = clock::now();
  std::lock_guard<std::mutex> lk(mu_);
  if (windows_.size() > sweep_above) {
    for (auto it = windows_.begin(); it != windows_.end();)
      it = now - it->second.start >= window_ ? windows_.erase(it) : std::next(it);
  }
  auto& w = windows_[address];
  watching_ = true;
  if (w.failures == 0 || now - w.start >= window_)
    w = window{now, 0};
  if (++w.failures == max_)
    spdlog::warn("auth: {} invalid API keys from {}; refusing its calls for the rest of the window",
                 max_, address);
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
  // The client's address is only needed once some address has sent a bad
  // key: the common case never builds the peer string.
  if (limiter_->watching()) {
    if (auto wait = limiter_->blocked_for(peer_address(ctx.peer()), failure_limiter::clock::now()))
      return auth_verdict::deny(resource_exhausted("too many invalid API keys from this address; retry in " +
                                                   std::to_string(wait) + " s"));
  }
  std::string_view key(it->second.data(), it->second.size());
  // `later` keeps the endpoint, and so `ctx`, alive until it has run.
  auto on_later = [limiter = limiter_, ctx = &ctx, later = std::move(later)](auth_verdict v) {
    limiter->count(*ctx, v);
    later(std::move(v));
  };
  auto now = checker_->check(key, std::move(on_later));
  if (now)
    limiter_->count(ctx, *now);
  return now;
}

}  // namespace troupe::detail
