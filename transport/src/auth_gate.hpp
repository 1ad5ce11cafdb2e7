// The transport's API-key check, run when a call is accepted and before its
// actor exists: which methods are public, where the key is, and how many
// unknown keys a client address may have looked up.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
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

// Throttles the look-ups of unknown keys (keys a checker knows nothing of,
// so possibly guesses) per client address, in fixed windows of `window`
// starting with an address's first unknown key. An address may have at most
// `max_failures` such look-ups in flight or failed per window: a place is
// reserved before the look-up starts (so concurrent guesses cannot pass the
// limit) and given back when the key proves valid or could not be checked.
// Keys known valid never come here, so a prober behind a shared address
// (proxy, NAT, load balancer) cannot lock out the valid keys sent from it.
//
// Bounds: at most `max_addresses` addresses are tracked, ~200 bytes each
// (the address, its window, its place in the expiry queue), so at most
// ~2 MB. Addresses seen while the table is full share one window (and one
// limit of max_failures) until tracked windows expire. Each reservation and
// each expiry costs O(1) amortised under the lock: windows expire from the
// front of a queue kept in start order, never by a sweep of the table.
class failure_limiter {
public:
  using clock = std::chrono::steady_clock;

  static constexpr size_t max_addresses = 10'000;

  // One reserved look-up: the window it counts in.
  struct ticket {
    std::string address;  // empty for the shared window
    bool shared = false;
    uint64_t window = 0;
  };

  failure_limiter(int max_failures, clock::duration window) : max_(max_failures), window_(window) {}

  // A place for one look-up from `address`, or nullopt with `retry_in_s`
  // set to the seconds left in its window when it has none left.
  std::optional<ticket> reserve(const std::string& address, long& retry_in_s);
  // The look-up of `t` is over: `failed` when the key was refused, which
  // keeps its place taken until the window ends.
  void settle(const ticket& t, bool failed);

private:
  struct window {
    clock::time_point start;
    uint64_t id = 0;   // 0: never started (the shared window at first)
    int pending = 0;   // look-ups in flight
    int failures = 0;  // keys refused
  };
  using entry = std::pair<const std::string, window>;

  window* find(const ticket& t);

  const int max_;
  const clock::duration window_;
  std::mutex mu_;
  std::unordered_map<std::string, window> windows_;
  std::deque<entry*> by_start_;  // windows_'s entries, oldest window first
  window shared_;                // for addresses past max_addresses
  uint64_t next_id_ = 1;
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
