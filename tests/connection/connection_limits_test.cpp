// [server] max_connection_idle_s / max_connection_age_s reach gRPC: the
// server closes the connection (GOAWAY) and the client channel goes idle.
#include <gtest/gtest.h>

#include "support/probe_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;

// Makes one call over a fresh channel, then returns how long the connection
// stayed READY (at most `limit`).
std::chrono::milliseconds ready_for(const server_config& cfg, std::chrono::milliseconds limit) {
  test_server server{[](troupe::server& s) { s.add(probe_service(std::make_shared<probe>())); }, cfg};
  auto channel = server.channel();
  grpc::ClientContext ctx;
  bench::v1::Payload req, resp;
  EXPECT_TRUE(bench::v1::Bench::NewStub(channel)->Unary(&ctx, req, &resp).ok());
  EXPECT_EQ(channel->GetState(false), GRPC_CHANNEL_READY);
  auto start = std::chrono::steady_clock::now();
  channel->WaitForStateChange(GRPC_CHANNEL_READY, std::chrono::system_clock::now() + limit);
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

TEST(connection_limits, an_idle_connection_is_closed_after_max_connection_idle_s) {
  auto cfg = local_config();
  cfg.max_connection_idle_s = 0.3;
  EXPECT_LT(ready_for(cfg, 10s), 5s);
}

TEST(connection_limits, an_old_connection_is_closed_after_max_connection_age_s) {
  auto cfg = local_config();
  cfg.max_connection_age_s = 0.3;
  EXPECT_LT(ready_for(cfg, 10s), 5s);
}

TEST(connection_limits, by_default_connections_stay_open) {
  EXPECT_GE(ready_for(local_config(), 1500ms), 1500ms);
}

}  // namespace
}  // namespace troupe::test
