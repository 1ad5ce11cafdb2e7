// Request ids in trailing metadata, and exactly one request log line per
// finished call (every RPC kind, cancels and refusals) with its counts.
#include <gtest/gtest.h>

#include <cstdint>
#include <future>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <grpcpp/generic/generic_stub.h>

#include "bench/bench_service.hpp"
#include "bench/v1/bench.grpc.pb.h"
#include "log_capture.hpp"
#include "support/probe_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;
using bench::v1::Payload;
using bench::v1::StreamRequest;
using bench::v1::Summary;

Payload payload(const std::string& data) {
  Payload p;
  p.set_data(data);
  return p;
}

std::unique_ptr<grpc::ClientContext> context(const std::string& request_id = "") {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + 10s);
  if (!request_id.empty())
    ctx->AddMetadata("x-request-id", request_id);
  return ctx;
}

std::string returned_id(const grpc::ClientContext& ctx) {
  auto& md = ctx.GetServerTrailingMetadata();
  auto it = md.find("x-request-id");
  return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
}

bool generated(const std::string& id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

server_config one_call_at_a_time() {
  auto cfg = local_config();
  cfg.max_inflight = 1;  // so that a held stream makes the next call a refusal
  return cfg;
}

class request_log_test : public ::testing::Test {
protected:
  // Waits for the server to count every call done (the cap is one call).
  void settle() { ASSERT_TRUE(wait_until([&] { return server->server().stats().inflight == 0; })); }

  // Request log lines by request id, after every call is done.
  std::map<std::string, std::string> lines_by_id() {
    server->server().shutdown();
    std::map<std::string, std::string> by_id;
    for (auto& line : capture.lines())
      EXPECT_TRUE(by_id.emplace(field(line, "id"), line).second) << "two lines for " << line;
    return by_id;
  }

  void start(request_log mode) {
    server = std::make_unique<test_server>(
      [&](troupe::server& s) {
        s.add(probe_service(probe_));
        s.set_request_log(mode);
      },
      one_call_at_a_time());
    stub = server->bench();
  }

  log_capture capture;
  std::shared_ptr<probe> probe_ = std::make_shared<probe>();
  std::unique_ptr<test_server> server;
  std::unique_ptr<bench::v1::Bench::Stub> stub;
};

TEST_F(request_log_test, client_request_id_is_echoed_else_one_is_generated) {
  start(request_log::off);
  Payload out;
  auto ctx = context("client-id-42");
  ASSERT_TRUE(stub->Unary(ctx.get(), payload("x"), &out).ok());
  EXPECT_EQ(returned_id(*ctx), "client-id-42");

  settle();  // the cap is one call, counted done just after the client has its answer
  auto errored = context("failing-call");
  EXPECT_EQ(stub->Unary(errored.get(), payload("not-found"), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(returned_id(*errored), "failing-call");  // on error statuses too

  settle();
  auto bare = context();
  ASSERT_TRUE(stub->Unary(bare.get(), payload("x"), &out).ok());
  auto id = returned_id(*bare);
  EXPECT_TRUE(generated(id)) << id;
  settle();
  auto again = context();
  ASSERT_TRUE(stub->Unary(again.get(), payload("x"), &out).ok());
  EXPECT_NE(returned_id(*again), id);

  // Too long, or with spaces: replaced, not trusted.
  for (const std::string& bad : {std::string(129, 'a'), std::string("has space")}) {
    settle();
    auto c = context(bad);
    ASSERT_TRUE(stub->Unary(c.get(), payload("x"), &out).ok());
    EXPECT_TRUE(generated(returned_id(*c))) << returned_id(*c);
  }
  EXPECT_TRUE(lines_by_id().empty());  // off: no lines
}

TEST_F(request_log_test, all_logs_one_line_per_call_with_its_counts) {
  start(request_log::all);
  Payload out;
  auto ok = context("unary-ok");
  ASSERT_TRUE(stub->Unary(ok.get(), payload("hello"), &out).ok());
  settle();
  auto err = context("unary-error");
  EXPECT_EQ(stub->Unary(err.get(), payload("not-found"), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  settle();

  auto cs = context("client-stream");
  Summary sum;
  {
    auto writer = stub->ClientStream(cs.get(), &sum);
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE(writer->Write(payload("abc")));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  settle();

  auto bd = context("bidi");
  {
    auto rw = stub->Bidi(bd.get());
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(rw->Write(payload("ping")));
      ASSERT_TRUE(rw->Read(&out));
    }
    rw->WritesDone();
    ASSERT_TRUE(rw->Finish().ok());
  }
  settle();

  // A held server stream takes the one slot: the next call is refused.
  auto held = context("held-stream");
  StreamRequest hold;
  hold.set_count(-1);
  auto reader = stub->ServerStream(held.get(), hold);
  reader->WaitForInitialMetadata();
  auto refused = context("refused");
  EXPECT_EQ(stub->Unary(refused.get(), payload("x"), &out).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(returned_id(*refused), "refused");
  held->TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(wait_until([&] { return probe_->cancelled.load() == 1; }));

  auto lines = lines_by_id();
  ASSERT_EQ(lines.size(), 6u);
  struct want {
    std::string status;
    int msgs_in, msgs_out;
    size_t bytes_in, bytes_out;
  };
  Summary three;
  three.set_count(3);
  three.set_bytes(9);
  std::map<std::string, want> expected = {
    {"unary-ok", {"OK", 1, 1, payload("hello").ByteSizeLong(), payload("hello").ByteSizeLong()}},
    {"unary-error", {"NOT_FOUND", 1, 0, payload("not-found").ByteSizeLong(), 0}},
    {"client-stream", {"OK", 3, 1, 3 * payload("abc").ByteSizeLong(), three.ByteSizeLong()}},
    {"bidi", {"OK", 2, 2, 2 * payload("ping").ByteSizeLong(), 2 * payload("ping").ByteSizeLong()}},
    {"held-stream", {"CANCELLED", 1, 0, hold.ByteSizeLong(), 0}},
    {"refused", {"RESOURCE_EXHAUSTED", 0, 0, 0, 0}},
  };
  for (auto& [id, w] : expected) {
    ASSERT_TRUE(lines.count(id)) << id;
    auto& line = lines[id];
    EXPECT_EQ(field(line, "status"), w.status) << line;
    EXPECT_EQ(field(line, "msgs_in"), std::to_string(w.msgs_in)) << line;
    EXPECT_EQ(field(line, "msgs_out"), std::to_string(w.msgs_out)) << line;
    EXPECT_EQ(field(line, "bytes_in"), std::to_string(w.bytes_in)) << line;
    EXPECT_EQ(field(line, "bytes_out"), std::to_string(w.bytes_out)) << line;
    EXPECT_EQ(field(line, "user"), "") << line;
    EXPECT_NE(field(line, "peer").find("127.0.0.1"), std::string::npos) << line;
    EXPECT_NE(field(line, "duration_us"), "<missing>") << line;
  }
  EXPECT_EQ(field(lines["unary-ok"], "method"), "/bench.v1.Bench/Unary");
  EXPECT_EQ(field(lines["unary-error"], "message"), "nothing here");
  EXPECT_EQ(field(lines["unary-ok"], "message"), "");
}

TEST_F(request_log_test, errors_logs_only_calls_that_did_not_end_ok) {
  start(request_log::errors);
  Payload out;
  for (auto& [id, data] : {std::pair<std::string, std::string>{"fine", "x"}, {"bad", "not-found"},
                           {"also-fine", "y"}}) {
    auto ctx = context(id);
    stub->Unary(ctx.get(), payload(data), &out);
    settle();
  }
  grpc::GenericStub generic(server->channel());
  auto unknown = context("unknown-method");
  grpc::Slice empty("");
  grpc::ByteBuffer req(&empty, 1), resp;
  std::promise<grpc::Status> done;
  generic.UnaryCall(unknown.get(), "/no.such.Service/Call", grpc::StubOptions(), &req, &resp,
                    [&](grpc::Status st) { done.set_value(st); });
  EXPECT_EQ(done.get_future().get().error_code(), grpc::StatusCode::UNIMPLEMENTED);

  auto lines = lines_by_id();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(field(lines["bad"], "status"), "NOT_FOUND");
  EXPECT_EQ(field(lines["unknown-method"], "status"), "UNIMPLEMENTED");
  EXPECT_EQ(field(lines["unknown-method"], "method"), "/no.such.Service/Call");
}

// A Mersenne Twister (mt19937_64) rebuilt from 312 consecutive outputs: each
// output is one state word, tempered; untempering gives the word back, and the
// recurrence gives every word after. This is all an observer of earlier ids
// would need to know the next ones, were they drawn from one.
class mt19937_64_clone {
public:
  explicit mt19937_64_clone(const std::vector<uint64_t>& outputs) {
    for (auto y : outputs)
      state_.push_back(untemper(y));
  }

  uint64_t next() {
    size_t k = state_.size() - n;
    uint64_t y = (state_[k] & upper) | (state_[k + 1] & lower);
    uint64_t word = state_[k + m] ^ (y >> 1) ^ ((y & 1) ? a : 0);
    state_.push_back(word);
    return temper(word);
  }

  static constexpr size_t n = 312;

private:
  static constexpr size_t m = 156;
  static constexpr uint64_t a = 0xb5026f5aa96619e9ull;
  static constexpr uint64_t upper = ~uint64_t{0} << 31, lower = ~upper;
  static constexpr uint64_t d = 0x5555555555555555ull, b = 0x71d67fffeda60000ull, c = 0xfff7eee000000000ull;

  static uint64_t temper(uint64_t y) {
    y ^= (y >> 29) & d;
    y ^= (y << 17) & b;
    y ^= (y << 37) & c;
    return y ^ (y >> 43);
  }

  static uint64_t untemper(uint64_t y) {
    y ^= y >> 43;
    y ^= (y << 37) & c;
    uint64_t x = y;
    for (int i = 0; i < 4; ++i)
      x = y ^ ((x << 17) & b);
    y = x;
    for (int i = 0; i < 3; ++i)
      x = y ^ ((x >> 29) & d);
    return x;
  }

  std::vector<uint64_t> state_;
};

// The two 64-bit halves of a generated id as the old generator wrote them
// (each half's lowest hex digit first).
std::pair<uint64_t, uint64_t> halves(const std::string& id) {
  auto half = [&](size_t at) {
    uint64_t v = 0;
    for (size_t i = 0; i < 16; ++i)
      v |= static_cast<uint64_t>(std::stoi(id.substr(at + i, 1), nullptr, 16)) << (4 * i);
    return v;
  };
  return {half(0), half(16)};
}

TEST(request_ids, generated_ids_cannot_be_predicted_from_earlier_ones) {
  // One transport thread: every id comes from the same generator, in order.
  auto cfg = local_config();
  cfg.transport_threads = 1;
  test_server server{[](troupe::server& s) { s.add(services::bench_service()); }, cfg};
  auto stub = server.bench();
  std::vector<std::string> ids;
  for (size_t i = 0; i <= mt19937_64_clone::n / 2; ++i) {
    auto ctx = context();
    Payload out;
    ASSERT_TRUE(stub->Unary(ctx.get(), payload("x"), &out).ok());
    ids.push_back(returned_id(*ctx));
    ASSERT_TRUE(generated(ids.back())) << ids.back();
  }
  std::vector<uint64_t> outputs;
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    auto [first, second] = halves(ids[i]);
    outputs.push_back(first);
    outputs.push_back(second);
  }
  mt19937_64_clone clone(outputs);
  auto [first, second] = halves(ids.back());
  uint64_t guess_first = clone.next(), guess_second = clone.next();
  EXPECT_FALSE(guess_first == first && guess_second == second)
    << "id " << ids.back() << " was predicted from the " << ids.size() - 1 << " before it";
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

}  // namespace
}  // namespace troupe::test
