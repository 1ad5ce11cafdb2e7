// A Troupe server in the test process on 127.0.0.1 (port picked by the OS),
// its actor system, and channels to it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <grpcpp/grpcpp.h>

#include <troupe/server.hpp>

#include "bench/v1/bench.grpc.pb.h"

namespace troupe::test {

server_config local_config();

class test_server {
public:
  explicit test_server(const std::function<void(troupe::server&)>& add,
                       server_config cfg = local_config());
  ~test_server();

  // A channel on its own connection (`n` makes it distinct from others).
  std::shared_ptr<grpc::Channel> channel(int n = 0) const;
  std::unique_ptr<bench::v1::Bench::Stub> bench(int n = 0) const;

  // Actors running in this server's actor system.
  size_t running_actors() { return sys_.registry().running(); }

  caf::actor_system& system() { return sys_; }
  troupe::server& server() { return srv_; }
  int port() const { return srv_.port(); }

private:
  static caf::actor_system_config& caf_config(caf::actor_system_config& cfg);
  caf::actor_system_config caf_cfg_;
  caf::actor_system sys_;
  troupe::server srv_;
};

// Polls `pred` until it holds or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// grpc.health.v1.Health/Check of `service` ("" for the whole server): the
// call's status, and in `serving` whether it answered SERVING.
grpc::Status health_check(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                          bool* serving);

// Resident memory of this process, in KiB (from /proc/self/status).
long rss_kib();

// A number field of /proc/self/status ("VmRSS", "Threads", ...); -1 if absent.
long proc_status(const std::string& field);

}  // namespace troupe::test
