// What happens to call actors when calls end early: client cancel, deadline,
// handler failures, and many streams opened and cancelled.
#include <thread>

#include <gtest/gtest.h>

#include "support/probe_service.hpp"
#include "support/test_server.hpp"
#include "troupe/call_messages.hpp"

namespace troupe::test {
namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;
using namespace std::chrono_literals;

class lifecycle : public ::testing::Test {
protected:
  std::shared_ptr<probe> p = std::make_shared<probe>();
  test_server server{[this](troupe::server& s) { s.add(probe_service(p)); }};
  std::unique_ptr<bench::v1::Bench::Stub> stub = server.bench();
  size_t baseline = server.running_actors();

  grpc::Status unary(const std::string& data, Payload* out = nullptr) {
    grpc::ClientContext ctx;
    Payload req, resp;
    req.set_data(data);
    auto st = stub->Unary(&ctx, req, &resp);
    if (out)
      *out = resp;
    return st;
  }
};

TEST_F(lifecycle, client_cancel_midway_reaches_the_actor_which_terminates) {
  grpc::ClientContext ctx;
  StreamRequest req;
  req.set_count(1000000);
  req.set_size(64);
  auto reader = stub->ServerStream(&ctx, req);
  Payload msg;
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(server.running_actors(), baseline + 1);
  ctx.TryCancel();
  while (reader->Read(&msg)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(wait_until([&] { return p->cancelled == 1; }));
  EXPECT_EQ(p->last_reason, static_cast<int>(cancel_reason::cancelled));
  EXPECT_TRUE(wait_until([&] { return server.running_actors() == baseline; }))
    << server.running_actors() << " actors, baseline " << baseline;
  EXPECT_TRUE(wait_until([&] { return server.server().stats().inflight == 0; }));
}

TEST_F(lifecycle, deadline_during_slow_handler_tells_the_actor) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("bench-delay-ms", "5000");
  ctx.set_deadline(std::chrono::system_clock::now() + 200ms);
  Payload req, resp;
  auto started = std::chrono::steady_clock::now();
  auto st = stub->Unary(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  ASSERT_TRUE(wait_until([&] { return p->cancelled == 1; }));
  EXPECT_EQ(p->last_reason, static_cast<int>(cancel_reason::deadline));
  EXPECT_TRUE(wait_until([&] { return server.running_actors() == baseline; }));
}

TEST_F(lifecycle, handler_sees_the_client_deadline) {
  // The probe echoes; a deadline far away still reaches the handler's call.
  troupe::service svc{"bench.v1.Bench"};
  auto seen = std::make_shared<std::atomic<long>>(0);
  svc.unary<Payload, Payload>("Unary", [seen](troupe::call& call, const Payload& req) -> result<Payload> {
    auto left = call.deadline() - std::chrono::system_clock::now();
    *seen = std::chrono::duration_cast<std::chrono::milliseconds>(left).count();
    return req;
  });
  test_server own{[&](troupe::server& s) { s.add(svc); }};
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  Payload req, resp;
  ASSERT_TRUE(own.bench()->Unary(&ctx, req, &resp).ok());
  // About 30 s: gRPC sends the deadline relative and converts between its
  // monotonic clock and the wall clock on each side, so allow some skew.
  EXPECT_GT(seen->load(), 25000);
  EXPECT_LT(seen->load(), 31000);
}

TEST_F(lifecycle, handler_exception_is_internal_and_hides_its_text) {
  auto st = unary("throw");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(st.error_message().find("secret"), std::string::npos) << st.error_message();
  Payload out;
  ASSERT_TRUE(unary("after", &out).ok());
  EXPECT_EQ(out.data(), "after");
  EXPECT_TRUE(wait_until([&] { return server.running_actors() == baseline; }));
}

TEST_F(lifecycle, typed_error_sets_the_status) {
  auto st = unary("not-found");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "nothing here");
}

TEST_F(lifecycle, actor_that_quits_without_answering_finishes_internal) {
  auto st = unary("quit");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_TRUE(wait_until([&] { return server.running_actors() == baseline; }));
}

// Opens `n` idle server streams over `channels` connections, waits until
// every one has its actor (headers received), then cancels them all.
void open_and_cancel(test_server& server, int n, int channels) {
  std::vector<std::unique_ptr<bench::v1::Bench::Stub>> stubs;
  for (int c = 0; c < channels; ++c)
    stubs.push_back(server.bench(c + 1));
  grpc::CompletionQueue cq;
  struct stream {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientAsyncReader<Payload>> reader;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<stream>> streams;
  StreamRequest req;
  req.set_count(-1);
  for (int i = 0; i < n; ++i) {
    auto s = std::make_unique<stream>();
    s->reader = stubs[i % channels]->PrepareAsyncServerStream(&s->ctx, req, &cq);
    s->reader->StartCall(reinterpret_cast<void*>(uintptr_t{1}));
    s->reader->ReadInitialMetadata(reinterpret_cast<void*>(uintptr_t{2}));
    streams.push_back(std::move(s));
  }
  // Each stream yields two events: started, and headers received.
  void* tag;
  bool ok;
  int headers = 0;
  for (int events = 0; events < 2 * n; ++events) {
    ASSERT_EQ(cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + 30s),
              grpc::CompletionQueue::GOT_EVENT);
    ASSERT_TRUE(ok);
    headers += tag == reinterpret_cast<void*>(uintptr_t{2});
  }
  ASSERT_EQ(headers, n);
  for (auto& s : streams) {
    s->ctx.TryCancel();
    s->reader->Finish(&s->status, reinterpret_cast<void*>(uintptr_t{3}));
  }
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + 30s),
              grpc::CompletionQueue::GOT_EVENT);
  for (auto& s : streams)
    EXPECT_EQ(s->status.error_code(), grpc::StatusCode::CANCELLED);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

// During shutdown's grace a client may still cancel its own call; only the
// calls left when the grace ends are cancelled for shutdown.
TEST(shutdown_reason, a_client_cancel_in_the_grace_is_the_clients_the_rest_is_shutdown) {
  auto p = std::make_shared<probe>();
  auto cfg = local_config();
  cfg.shutdown_grace_s = 3;
  test_server server{[&](troupe::server& s) { s.add(probe_service(p)); }, cfg};
  auto stub = server.bench();
  StreamRequest hold;
  hold.set_count(-1);  // the probe holds the stream until it is cancelled
  grpc::ClientContext ctx_a, ctx_b;
  auto a = stub->ServerStream(&ctx_a, hold);
  auto b = stub->ServerStream(&ctx_b, hold);
  ASSERT_TRUE(wait_until([&] { return p->streams_open == 2; }));

  std::thread stopping([&] { server.server().shutdown(); });
  // Shutdown has begun once a new call is refused.
  EXPECT_TRUE(wait_until([&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 500ms);
    Payload req, resp;
    return !server.bench(1)->Unary(&ctx, req, &resp).ok();
  }, 2s));
  ctx_a.TryCancel();
  EXPECT_TRUE(wait_until([&] { return p->cancelled == 1; }, 2s));
  EXPECT_EQ(p->last_reason, static_cast<int>(cancel_reason::cancelled));
  stopping.join();
  ASSERT_TRUE(wait_until([&] { return p->cancelled == 2; }));
  EXPECT_EQ(p->last_reason, static_cast<int>(cancel_reason::shutdown));
  Payload msg;
  while (b->Read(&msg)) {
  }
  EXPECT_EQ(b->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  while (a->Read(&msg)) {
  }
  EXPECT_EQ(a->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST(many_streams, ten_thousand_opened_and_cancelled_leave_nothing_behind) {
  auto p = std::make_shared<probe>();
  auto cfg = local_config();
  cfg.max_concurrent_streams = 5000;
  test_server server{[&](troupe::server& s) { s.add(probe_service(p)); }, cfg};
  const size_t actors = server.running_actors();
  const int endpoints = server.server().stats().endpoints;
  for (int round = 1; round <= 2; ++round) {
    open_and_cancel(server, 10000, 4);
    ASSERT_TRUE(wait_until([&] { return server.running_actors() == actors; }, 30s))
      << "round " << round << ": " << server.running_actors() << " actors, baseline " << actors;
    ASSERT_TRUE(wait_until([&] { return server.server().stats().endpoints == endpoints; }, 30s))
      << "round " << round << ": " << server.server().stats().endpoints << " endpoints";
    EXPECT_EQ(server.server().stats().inflight, 0);
    EXPECT_EQ(p->cancelled, 10000 * round);
  }
}

}  // namespace
}  // namespace troupe::test
