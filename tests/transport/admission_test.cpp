// Admission control: over the in-flight cap a call is refused at once; calls
// without an API key have a cap of their own inside it.
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "support/probe_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using namespace std::chrono_literals;

// Knows one key, "good-key", of user alice; answers at once.
class one_key : public key_checker {
public:
  std::optional<auth_verdict> check(std::string_view key, const guess_admission&, reply) override {
    if (key == "good-key")
      return auth_verdict::allow(caller{1, "alice", "00000000"});
    return auth_verdict::deny(unauthenticated("invalid API key"));
  }
};

// Open health Watch streams (public methods: no key), each answered once.
struct watches {
  std::unique_ptr<grpc::health::v1::Health::Stub> stub;
  std::vector<std::unique_ptr<grpc::ClientContext>> ctxs;
  std::vector<std::unique_ptr<grpc::ClientReader<HealthCheckResponse>>> readers;

  explicit watches(const test_server& server) : stub(grpc::health::v1::Health::NewStub(server.channel(7))) {}
  ~watches() { close(); }

  // Opens one more; the status it ended with if it did not stay open.
  grpc::Status open() {
    ctxs.push_back(std::make_unique<grpc::ClientContext>());
    ctxs.back()->set_deadline(std::chrono::system_clock::now() + 30s);
    readers.push_back(stub->Watch(ctxs.back().get(), HealthCheckRequest{}));
    HealthCheckResponse resp;
    if (readers.back()->Read(&resp))
      return grpc::Status::OK;
    auto st = readers.back()->Finish();
    ctxs.pop_back();
    readers.pop_back();
    return st.ok() ? grpc::Status(grpc::StatusCode::UNKNOWN, "watch ended with OK") : st;
  }

  void close() {
    for (auto& c : ctxs)
      c->TryCancel();
    HealthCheckResponse resp;
    for (auto& r : readers) {
      while (r->Read(&resp)) {
      }
      r->Finish();
    }
    ctxs.clear();
    readers.clear();
  }
};

grpc::Status unary(bench::v1::Bench::Stub& stub, const std::string& key, Payload* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  if (!key.empty())
    ctx.AddMetadata("x-api-key", key);
  Payload req;
  req.set_data("hello");
  return stub.Unary(&ctx, req, resp);
}

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

TEST(admission, anonymous_calls_cannot_lock_keyed_callers_out) {
  auto cfg = local_config();
  cfg.max_inflight = 10;
  cfg.max_inflight_anonymous = 3;
  auth_config auth;
  auth.enabled = true;  // keys checked when sent; calls without one are anonymous
  test_server server{[&](troupe::server& s) {
                       s.add(probe_service(std::make_shared<probe>()));
                       s.set_auth(auth, std::make_shared<one_key>());
                     },
                     cfg};
  auto stub = server.bench();

  watches held(server);
  for (int i = 0; i < cfg.max_inflight_anonymous; ++i)
    ASSERT_TRUE(held.open().ok()) << "watch " << i;
  auto refused = held.open();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  Payload resp;
  auto anonymous = unary(*stub, "", &resp);
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << anonymous.error_message();
  EXPECT_EQ(server.server().stats().rejected, 2u);

  // Keyed callers are still served, up to the whole cap.
  for (int i = 0; i < 5; ++i) {
    auto st = unary(*stub, "good-key", &resp);
    EXPECT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
    EXPECT_EQ(resp.data(), "hello");
  }

  // An ended anonymous call gives its place back.
  held.close();
  ASSERT_TRUE(wait_until([&] { return server.server().stats().inflight == 0; }));
  auto again = unary(*stub, "", &resp);
  EXPECT_TRUE(again.ok()) << again.error_code() << " " << again.error_message();
}

TEST(admission, with_auth_off_the_anonymous_cap_does_not_apply) {
  auto cfg = local_config();
  cfg.max_inflight = 10;
  cfg.max_inflight_anonymous = 3;
  test_server server{[&](troupe::server& s) { s.add(probe_service(std::make_shared<probe>())); }, cfg};
  watches held(server);
  // Every call is anonymous without [auth]: only max_inflight binds.
  for (int i = 0; i < cfg.max_inflight; ++i)
    ASSERT_TRUE(held.open().ok()) << "watch " << i;
  EXPECT_EQ(held.open().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  held.close();
}

}  // namespace
}  // namespace troupe::test
