// The Troupe server: listens, turns every call into a call actor, and shuts
// down gracefully.
//
//   caf::actor_system sys{caf_cfg};
//   troupe::server srv{sys, cfg.server, cfg.tls};
//   srv.add(make_user_service());
//   troupe::services::add_reflection(srv);   // optional (services/reflection)
//   srv.start();                 // throws troupe::startup_error
//   ...
//   srv.shutdown();              // health NOT_SERVING, feeds end, grace, cancel the rest
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>

#include "troupe/auth.hpp"
#include "troupe/call_record.hpp"
#include "troupe/config.hpp"
#include "troupe/service.hpp"

namespace grpc {
class Server;
class ServerCompletionQueue;
}  // namespace grpc

namespace troupe {

namespace detail {
struct server_core;
class health_state;
}

// The server could not start (address in use, bad address, a TLS file that
// cannot be read, ...): one line naming the address or the key and path.
class startup_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class server {
public:
  // With `tls` enabled the server serves TLS only, never plaintext.
  // `cfg.reflection` is not acted on here: reflection is a service of its own
  // (services/reflection), added by whoever assembles the server.
  server(caf::actor_system& sys, const server_config& cfg, const tls_config& tls = {});
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Registers a service; before start().
  server& add(const service& svc);

  // The request log; before start(). Every call returns its request id in
  // trailing metadata `x-request-id` whatever the mode. With `mode` errors
  // (calls not ending OK) or all, each such call, once done, gets one info
  // line (log_call in call_record.hpp) and is handed to `observer`, if any.
  // The observer runs on a transport thread: it must be quick and never block
  // (queue the record elsewhere). After shutdown() returns it is not called again.
  void set_request_log(request_log mode, std::function<void(const call_record&)> observer = {});

  // API keys; before start(). With `cfg.enabled` or `cfg.require_auth`, every
  // call to a method not in cfg.public_methods has the key it sends (metadata
  // cfg.header) checked by `checker` before its actor starts: a bad key, or no
  // key when required, ends it with UNAUTHENTICATED; an address that sent
  // cfg.max_failures bad keys within cfg.failure_window_s gets
  // RESOURCE_EXHAUSTED for its unknown keys for the rest of that window
  // (keys known valid are still served). Handlers see the caller as
  // call.user(). Calls left anonymous (public methods, or no key without
  // require_auth) are also capped by max_inflight_anonymous.
  void set_auth(const auth_config& cfg, std::shared_ptr<key_checker> checker);

  // Binds and starts serving. Throws startup_error. Raises the process's soft
  // open-file limit to its hard limit first: gRPC 1.51 stops accepting
  // connections for good once it runs out of descriptors.
  void start();

  // The services this server answers: those added, and grpc.health.v1.Health
  // when health_check is on. Fixed once start() has run.
  std::vector<std::string> service_names() const;

  // What grpc.health.v1.Health reports for `service` ("" for the whole
  // server), e.g. NOT_SERVING while a dependency is down. start() marks every
  // service serving; shutdown() marks all not serving.
  void set_serving(const std::string& service, bool serving);

  // The bound port (the OS's pick when configured as 0).
  int port() const { return port_; }

  // Marks health NOT_SERVING, sends every call actor `draining` (feeds and
  // watches end at once with UNAVAILABLE; other calls are not disturbed),
  // stops accepting, lets calls in flight finish for up to shutdown_grace_s,
  // then cancels the rest (their actors receive cancelled{shutdown}).
  // Idempotent; also run by the destructor.
  void shutdown();

  struct counters {
    int inflight;       // admitted calls not yet done
    int endpoints;      // call endpoints alive, including those waiting to accept
    uint64_t rejected;  // calls refused by admission control
    size_t health_watchers;  // open grpc.health.v1.Health/Watch streams
  };
  counters stats() const;

private:
  server_config cfg_;
  tls_config tls_;
  std::shared_ptr<detail::server_core> core_;
  std::shared_ptr<detail::health_state> health_;
  std::vector<std::string> service_names_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace troupe
