// Health Watch: a load balancer watching the health stream learns
// NOT_SERVING as soon as shutdown begins, not when the grace period ends;
// watches that end leave nothing behind, whatever name they watched.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
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

// Each watch keeps an entry while it lasts; one whose service never changes
// (here an unknown name) must not keep it after the call ends.
TEST(health_watch, ended_watches_of_names_that_never_change_leave_nothing_behind) {
  test_server server{[](troupe::server& s) { s.add(probe_service(std::make_shared<probe>())); }};
  const auto watchers_before = server.server().stats().health_watchers;
  const auto actors_before = server.running_actors();
  const long rss_before = rss_kib();

  constexpr int calls = 10000;
  constexpr int concurrency = 100;
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> stubs;
  for (int c = 0; c < 4; ++c)
    stubs.push_back(grpc::health::v1::Health::NewStub(server.channel(10 + c)));
  std::atomic<int> next{0}, unknown{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < concurrency; ++t)
    clients.emplace_back([&, t] {
      auto& stub = *stubs[t % stubs.size()];
      for (int i; (i = next++) < calls;) {
        HealthCheckRequest req;
        req.set_service("unknown." + std::to_string(i));
        req.mutable_service()->resize(1024, 'x');  // 1 KiB, each distinct
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + 30s);
        auto watch = stub.Watch(&ctx, req);
        HealthCheckResponse resp;
        // The first answer comes once the server holds the watch.
        if (watch->Read(&resp) && resp.status() == HealthCheckResponse::SERVICE_UNKNOWN)
          ++unknown;
        ctx.TryCancel();
        while (watch->Read(&resp)) {
        }
        watch->Finish();
      }
    });
  for (auto& c : clients)
    c.join();
  EXPECT_EQ(unknown, calls);

  EXPECT_TRUE(wait_until([&] { return server.server().stats().health_watchers == watchers_before; }, 30s))
    << server.server().stats().health_watchers << " watchers left of " << calls << " ended watches";
  EXPECT_TRUE(wait_until([&] { return server.running_actors() == actors_before; }, 30s))
    << server.running_actors() - actors_before << " call actors left";
  std::cout << "RSS before " << rss_before << " KiB, after " << calls << " ended watches "
            << rss_kib() << " KiB\n";
}

// A name longer than any service's is refused rather than held.
TEST(health_watch, overlong_service_name_is_invalid_argument) {
  test_server server{[](troupe::server& s) { s.add(probe_service(std::make_shared<probe>())); }};
  auto health = grpc::health::v1::Health::NewStub(server.channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  HealthCheckRequest req;
  req.set_service(std::string(1025, 'x'));
  auto watch = health->Watch(&ctx, req);
  HealthCheckResponse resp;
  EXPECT_FALSE(watch->Read(&resp));
  auto st = watch->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(server.server().stats().health_watchers, 0u);
}

}  // namespace
}  // namespace troupe::test
