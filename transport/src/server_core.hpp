// State the transport threads, the endpoints and the server share.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <grpcpp/generic/async_generic_service.h>

#include "auth_gate.hpp"
#include "raw_methods.hpp"
#include "troupe/call_record.hpp"
#include "troupe/config.hpp"
#include "troupe/detail/call_endpoint.hpp"
#include "troupe/detail/method_binding.hpp"

namespace troupe::detail {

// The call actors alive, so that a shutdown can tell each that the drain
// began (a `draining` message). One entry per call with an actor, so bounded
// by the calls in flight; insert and erase are O(1).
class call_registry {
public:
  // Registers `actor` until the returned registration is destroyed. An actor
  // registered once drain() has begun is sent `draining` at once.
  std::unique_ptr<call_registration> add(const caf::actor& actor);

  // Sends `draining` to every registered actor, and to those added later.
  void drain();

private:
  friend class call_registration;
  using list = std::list<caf::weak_actor_ptr>;
  std::mutex mu_;
  list actors_;
  bool draining_ = false;
};

// One actor's place in the call_registry; the endpoint holds it.
class call_registration {
public:
  call_registration(call_registry& r, std::list<caf::weak_actor_ptr>::iterator it)
      : registry_(r), it_(it) {}
  ~call_registration();
  call_registration(const call_registration&) = delete;
  call_registration& operator=(const call_registration&) = delete;

private:
  call_registry& registry_;
  std::list<caf::weak_actor_ptr>::iterator it_;
};

struct server_core : std::enable_shared_from_this<server_core> {
  server_core(caf::actor_system& system, const server_config& config)
      : sys(system), cfg(config) {}

  caf::actor_system& sys;
  const server_config cfg;
  std::unordered_map<std::string, method_binding> methods;
  raw_methods raw;                      // every method in `methods`, for gRPC
  grpc::AsyncGenericService unknown;    // calls to any other path

  std::atomic<int> inflight{0};        // admitted calls not yet done
  std::atomic<int> inflight_anonymous{0};  // of those, without a key (with [auth] on)
  std::atomic<int> live_calls{0};      // accepted calls (admitted or not) not yet done
  std::atomic<int> endpoints{0};       // endpoint objects alive
  std::atomic<uint64_t> rejected{0};   // refused by admission control
  std::atomic<bool> shutting_down{false};
  // When shutdown's grace ends and gRPC cancels the calls left: cancels
  // before it are the clients' own.
  std::atomic<std::chrono::steady_clock::time_point> grace_end{std::chrono::steady_clock::time_point::max()};

  // API-key checks, when [auth] is on; set before start().
  std::unique_ptr<auth_gate> auth;

  // Every call actor alive, told when shutdown begins.
  call_registry calls;

  // Request logging; set before start(), read-only while serving.
  request_log log_mode = request_log::off;
  std::function<void(const call_record&)> call_observer;

  // Logs a finished call and hands it to the observer; on a transport thread,
  // outside any endpoint's lock.
  void report(const call_record& r) const;

  // Posts a fresh endpoint to accept the next call of raw method `index` on
  // `cq`; index -1 accepts calls to unknown paths.
  void post_accept(grpc::ServerCompletionQueue* cq, int index);

  // Bookkeeping when an endpoint is created or destroyed, or a call is done;
  // wakes a shutdown waiting for the counts to reach zero.
  void endpoint_created() { ++endpoints; }
  void endpoint_destroyed();
  void call_done(admission a);

  // Waits until `counter` is zero or `timeout` passes; true if it reached zero.
  bool wait_for_zero(std::atomic<int>& counter, std::chrono::milliseconds timeout);

  std::mutex drain_mu;
  std::condition_variable drain_cv;
};

}  // namespace troupe::detail
