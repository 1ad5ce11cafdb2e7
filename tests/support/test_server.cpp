#include "test_server.hpp"

#include <fstream>

#include <troupe/actor_system.hpp>

#include "grpc/health/v1/health.grpc.pb.h"

namespace troupe::test {

server_config local_config() {
  server_config cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.transport_threads = 2;
  cfg.shutdown_grace_s = 1;
  return cfg;
}

caf::actor_system_config& test_server::caf_config(caf::actor_system_config& cfg) {
  scheduler_config sc;
  sc.max_threads = 2;
  apply_scheduler_config(sc, cfg);
  return cfg;
}

test_server::test_server(const std::function<void(troupe::server&)>& add, server_config cfg)
    : sys_(caf_config(caf_cfg_)), srv_(sys_, cfg) {
  add(srv_);
  srv_.start();
}

test_server::~test_server() {
  srv_.shutdown();
}

std::shared_ptr<grpc::Channel> test_server::channel(int n) const {
  grpc::ChannelArguments args;
  // Distinct arguments keep gRPC from sharing one connection between channels.
  args.SetInt("troupe.test.channel", n);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(srv_.port()),
                                   grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<bench::v1::Bench::Stub> test_server::bench(int n) const {
  return bench::v1::Bench::NewStub(channel(n));
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= end)
      return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

grpc::Status health_check(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                          bool* serving) {
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  auto st = health->Check(&ctx, req, &resp);
  *serving = st.ok() && resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  return st;
}

long proc_status(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == field + ":") {
      long value = 0;
      in >> value;
      return value;
    }
    in.ignore(4096, '\n');
  }
  return -1;
}

long rss_kib() {
  return proc_status("VmRSS");
}

}  // namespace troupe::test
