// Admission control: over the in-flight cap a call is refused at once.
#include <gtest/gtest.h>

#include "support/probe_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;
using namespace std::chrono_literals;

TEST(admission, over_the_inflight_cap_is_resource_exhausted_at_once) {
  auto p = std::make_shared<probe>();
  auto cfg = local_config();
  cfg.max_inflight = 4;
  test_server server{[&](troupe::server& s) { s.add(probe_service(p)); }, cfg};
  auto stub = server.bench();

  // Fill the cap with idle streams whose actors are running.
  std::vector<std::unique_ptr<grpc::ClientContext>> ctxs;
  std::vector<std::unique_ptr<grpc::ClientReader<Payload>>> readers;
  StreamRequest idle;
  idle.set_count(-1);
  for (int i = 0; i < cfg.max_inflight; ++i) {
    ctxs.push_back(std::make_unique<grpc::ClientContext>());
    readers.push_back(stub->ServerStream(ctxs.back().get(), idle));
    readers.back()->WaitForInitialMetadata();
  }
  ASSERT_EQ(server.server().stats().inflight, cfg.max_inflight);

  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    Payload req, resp;
    auto started = std::chrono::steady_clock::now();
    auto st = stub->Unary(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);  // refused, not queued
  }
  EXPECT_EQ(server.server().stats().rejected, 3u);

  for (auto& c : ctxs)
    c->TryCancel();
  for (auto& r : readers)
    r->Finish();
  ASSERT_TRUE(wait_until([&] { return server.server().stats().inflight == 0; }));

  // Under the cap, everything succeeds.
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < cfg.max_inflight; ++i)
    clients.emplace_back([&] {
      grpc::ClientContext ctx;
      Payload req, resp;
      ok += stub->Unary(&ctx, req, &resp).ok();
    });
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(ok, cfg.max_inflight);
}

}  // namespace
}  // namespace troupe::test
