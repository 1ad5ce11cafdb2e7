// All four RPC kinds of bench.v1.Bench end to end through real channels,
// with empty streams and 1 MiB messages; health, unknown methods, bad bytes.
#include <gtest/gtest.h>

#include <grpcpp/generic/generic_stub.h>

#include "bench/bench_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;
using bench::v1::Summary;

const std::string one_mib(1 << 20, 'm');

class rpc_kinds : public ::testing::Test {
protected:
  test_server server{[](troupe::server& s) { s.add(services::bench_service()); }};
  std::unique_ptr<bench::v1::Bench::Stub> stub = server.bench();
};

Payload payload(const std::string& data) {
  Payload p;
  p.set_data(data);
  return p;
}

TEST_F(rpc_kinds, unary_echoes_small_empty_and_one_mib) {
  for (const std::string& data : {std::string("hello"), std::string(), one_mib}) {
    grpc::ClientContext ctx;
    Payload out;
    auto st = stub->Unary(&ctx, payload(data), &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(out.data(), data);
  }
}

TEST_F(rpc_kinds, server_stream_sends_count_messages_of_size) {
  struct want {
    int count, size;
  };
  for (auto w : {want{1000, 16}, want{0, 16}, want{3, 1 << 20}}) {
    grpc::ClientContext ctx;
    StreamRequest req;
    req.set_count(w.count);
    req.set_size(w.size);
    auto reader = stub->ServerStream(&ctx, req);
    Payload msg;
    int n = 0;
    while (reader->Read(&msg)) {
      ASSERT_EQ(msg.data().size(), static_cast<size_t>(w.size));
      ++n;
    }
    auto st = reader->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(n, w.count);
  }
}

TEST_F(rpc_kinds, client_stream_summarises_what_it_received) {
  for (int count : {0, 1, 200}) {
    grpc::ClientContext ctx;
    Summary sum;
    auto writer = stub->ClientStream(&ctx, &sum);
    int64_t bytes = 0;
    for (int i = 0; i < count; ++i) {
      auto data = i == 1 ? one_mib : std::string(static_cast<size_t>(i), 'c');
      bytes += static_cast<int64_t>(data.size());
      ASSERT_TRUE(writer->Write(payload(data)));
    }
    writer->WritesDone();
    auto st = writer->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(sum.count(), count);
    EXPECT_EQ(sum.bytes(), bytes);
  }
}

// Regression: the actor's last "consumed" could start a read after the
// half-close had already failed one, and the second end-of-input check freed
// the first one's alarm while its event was queued (a crash within ~200 calls).
TEST_F(rpc_kinds, client_streams_back_to_back) {
  for (int call = 0; call < 400; ++call) {
    grpc::ClientContext ctx;
    Summary sum;
    auto writer = stub->ClientStream(&ctx, &sum);
    for (int i = 0; i < 20; ++i)
      ASSERT_TRUE(writer->Write(payload("sixteen bytes...")));
    writer->WritesDone();
    auto st = writer->Finish();
    ASSERT_TRUE(st.ok()) << "call " << call << ": " << st.error_message();
    ASSERT_EQ(sum.count(), 20);
  }
}

TEST_F(rpc_kinds, bidi_echoes_in_order_and_ends_on_half_close) {
  for (int count : {0, 500}) {
    grpc::ClientContext ctx;
    auto stream = stub->Bidi(&ctx);
    std::thread writer([&] {
      for (int i = 0; i < count; ++i)
        stream->Write(payload(i == 7 ? one_mib : std::to_string(i)));
      stream->WritesDone();
    });
    Payload msg;
    int n = 0;
    while (stream->Read(&msg)) {
      EXPECT_EQ(msg.data(), n == 7 ? one_mib : std::to_string(n));
      ++n;
    }
    writer.join();
    auto st = stream->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(n, count);
  }
}

TEST_F(rpc_kinds, health_reports_serving_overall_and_per_service) {
  for (std::string name : {"", "bench.v1.Bench"}) {
    bool serving = false;
    auto st = health_check(server.channel(), name, &serving);
    ASSERT_TRUE(st.ok()) << name << ": " << st.error_message();
    EXPECT_TRUE(serving) << name;
  }
}

grpc::Status generic_unary(test_server& server, const std::string& method,
                           const std::string& bytes) {
  grpc::GenericStub generic(server.channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer req(&slice, 1);
  grpc::ByteBuffer resp;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<grpc::Status> result;
  generic.UnaryCall(&ctx, method, grpc::StubOptions(), &req, &resp, [&](grpc::Status st) {
    std::lock_guard<std::mutex> lk(mu);
    result = st;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lk(mu);
  cv.wait(lk, [&] { return result.has_value(); });
  return *result;
}

TEST_F(rpc_kinds, malformed_request_gets_invalid_argument) {
  // Field 1 as a varint where bytes are declared: not a Payload.
  auto st = generic_unary(server, "/bench.v1.Bench/Unary", std::string("\x08\x96\x01\xff\xff", 5));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  grpc::ClientContext ctx;
  Payload out;
  EXPECT_TRUE(stub->Unary(&ctx, payload("still serving"), &out).ok());
}

TEST_F(rpc_kinds, unary_call_without_its_request_gets_internal) {
  // A client that half-closes before sending the one request: refused before
  // any handler runs, and the server goes on serving.
  grpc::GenericStub generic(server.channel());
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto call = generic.PrepareCall(&ctx, "/bench.v1.Bench/Unary", &cq);
  auto step = [&cq](int* tag) {
    void* got = nullptr;
    bool ok = false;
    auto limit = std::chrono::system_clock::now() + std::chrono::seconds(10);
    ASSERT_EQ(cq.AsyncNext(&got, &ok, limit), grpc::CompletionQueue::NextStatus::GOT_EVENT);
    EXPECT_EQ(got, tag);
  };
  int started = 1, closed = 2, finished = 3;
  call->StartCall(&started);
  step(&started);
  call->WritesDone(&closed);
  step(&closed);
  grpc::Status st;
  call->Finish(&st, &finished);
  step(&finished);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL) << st.error_message();
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }  // every operation completed above: ends at once

  grpc::ClientContext again;
  Payload out;
  EXPECT_TRUE(stub->Unary(&again, payload("still serving"), &out).ok());
}

TEST_F(rpc_kinds, unknown_method_gets_unimplemented) {
  auto st = generic_unary(server, "/bench.v1.Bench/Nope", "");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  st = generic_unary(server, "/no.such.Service/Call", "");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace troupe::test
