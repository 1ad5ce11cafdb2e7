// The transport's API-key check, run when a call is accepted and before its
// actor exists: which methods are public, where the key is, and how many bad
// keys a client address may try.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <grpcpp/generic/async_generic_service.h>

#include "troupe/auth.hpp"
#include "troupe/config.hpp"

namespace troupe::detail {

// Counts invalid keys per client address in fixed windows; an address at the
// limit is refused until its window ends, whatever key it sends next, so a
// guesser learns nothing more.
class failure_limiter {
public:
  using clock = std::chrono::steady_clock;

  failure_limiter(int max_failures, clock::duration window) : max_(max_failures), window_(window) {}

  // Whether any address has bad keys counted (else none can be blocked).
  bool watching() const { return watching_.load(std::memory_order_relaxed); }
  // Seconds until `address` may try again; 0 when it may now.
  long blocked_for(const std::string& address, clock::time_point now);
  // Counts `v` against the client of `ctx` if it refused a key.
  void count(const grpc::ServerContext& ctx, const auth_verdict& v);

private:
  struct window {
    clock::time_point start;
    int failures = 0;
  };

  const int max_;
  const clock::duration window_;
  std::mutex mu_;
  std::unordered_map<std::string, window> windows_;
  std::atomic<bool> watching_{false};  // !windows_.empty(), read without the lock
};

class auth_gate {
public:
  auth_gate(const auth_config& cfg, std::shared_ptr<key_checker> checker);

  bool is_public(const std::string& method) const { return public_.count(method) > 0; }

  // The verdict for a call, or nullopt when `later` will get it. An OK
  // verdict without a caller lets an anonymous call through.
  std::optional<auth_verdict> check(const grpc::GenericServerContext& ctx, key_checker::reply later);

private:
  const std::string header_;
  const bool require_;
  const std::unordered_set<std::string> public_;
  const std::shared_ptr<key_checker> checker_;
  std::shared_ptr<failure_limiter> limiter_;
};

// "ipv4:127.0.0.1:40312" -> "ipv4:127.0.0.1" (a client's ports change per connection).
std::string peer_address(const std::string& peer);

}  // namespace troupe::detail
