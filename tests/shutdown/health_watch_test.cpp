// Health during shutdown: a load balancer watching the health stream learns
// NOT_SERVING as soon as shutdown begins, not when the grace period ends.
#include <gtest/gtest.h>

#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "support/probe_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using namespace std::chrono_literals;

TEST(health_watch, reports_not_serving_as_soon_as_shutdown_begins) {
  auto cfg = local_config();
  cfg.shutdown_grace_s = 3;
  test_server server{[](troupe::server& s) { s.add(probe_service(std::make_shared<probe>())); }, cfg};

  // An idle stream keeps the server in its grace period.
  grpc::ClientContext stream_ctx;
  stream_ctx.set_deadline(std::chrono::system_clock::now() + 20s);
  bench::v1::StreamRequest hold;
  hold.set_count(-1);
  auto stub = server.bench(1);
  auto stream = stub->ServerStream(&stream_ctx, hold);
  stream->WaitForInitialMetadata();

  auto health = grpc::health::v1::Health::NewStub(server.channel(2));
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + 20s);
  HealthCheckRequest req;
  req.set_service("bench.v1.Bench");
  auto watch = health->Watch(&watch_ctx, req);
  HealthCheckResponse resp;
  ASSERT_TRUE(watch->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);

  auto began = std::chrono::steady_clock::now();
  std::thread stopper([&] { server.server().shutdown(); });
  bool update = watch->Read(&resp);
  auto waited = std::chrono::steady_clock::now() - began;
  if (update) {
    EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
  }
  EXPECT_LT(waited, 2s) << "health changed only at the end of the grace period";

  stopper.join();
  bench::v1::Payload msg;
  EXPECT_FALSE(stream->Read(&msg));
  auto code = stream->Finish().error_code();
  EXPECT_TRUE(code == grpc::StatusCode::CANCELLED || code == grpc::StatusCode::UNAVAILABLE) << code;
  watch_ctx.TryCancel();
  while (watch->Read(&resp)) {
  }
  watch->Finish();
}

}  // namespace
}  // namespace troupe::test
