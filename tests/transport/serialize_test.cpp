// A response that cannot be serialised ends its call with INTERNAL and a log
// line, in every RPC kind, instead of going out as an empty message with OK.
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "logging/log_capture.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;

// gRPC's serialiser refuses messages over 2 GiB (protobuf's limit, INT_MAX):
// the only way a generated message fails to serialise. This one costs next
// to no memory: its string's buffer is a fresh mapping, filled with zeros in
// chunks whose whole pages go back to the kernel at once (they then read as
// zeros again, so the string keeps its value).
Payload oversized() {
  constexpr size_t size = (size_t{1} << 31) + 1;
  auto data = std::make_unique<std::string>();
  data->reserve(size);
  const std::string chunk(size_t{32} << 20, '\0');
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  while (data->size() < size) {
    size_t from = data->size();
    data->append(chunk, 0, std::min(chunk.size(), size - from));
    auto base = reinterpret_cast<uintptr_t>(data->data());
    uintptr_t lo = (base + from + page - 1) / page * page;
    uintptr_t hi = (base + data->size()) / page * page;
    if (hi > lo)
      madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
  }
  Payload p;
  p.set_allocated_data(data.release());
  return p;
}

// Each kind answers a request with data "huge" with an oversized response,
// anything else with an echo.
troupe::service oversized_service() {
  troupe::service svc{"bench.v1.Bench"};
  svc.unary<Payload, Payload>("Unary", [](troupe::call&, const Payload& req) -> result<Payload> {
    if (req.data() == "huge")
      return oversized();
    return req;
  });
  svc.server_stream<StreamRequest, Payload>(
    "ServerStream", [](troupe::server_stream_actor<StreamRequest, Payload> self) -> caf::behavior {
      return {
        [=](const StreamRequest& req) {
          Payload small;
          self.write(small);
          if (req.count() == 1)
            self.write(oversized());
          self.finish();
        },
      };
    });
  svc.bidi<Payload, Payload>("Bidi", [](troupe::bidi_actor<Payload, Payload> self) -> caf::behavior {
    return {
      [=](const Payload& m) { self.write(m.data() == "huge" ? oversized() : m); },
    };
  });
  return svc;
}

#if defined(__SANITIZE_THREAD__)
constexpr bool thread_sanitizer = true;
#elif defined(__has_feature)
constexpr bool thread_sanitizer = __has_feature(thread_sanitizer);
#else
constexpr bool thread_sanitizer = false;
#endif

class serialize : public ::testing::Test {
protected:
  void SetUp() override {
    // ThreadSanitizer shadows every byte written: 2 GiB would cost it gigabytes.
    if (thread_sanitizer)
      GTEST_SKIP() << "writes 2 GiB of zeros; too costly under ThreadSanitizer";
  }

  log_capture capture;
  test_server server{[](troupe::server& s) { s.add(oversized_service()); }};
  std::unique_ptr<bench::v1::Bench::Stub> stub = server.bench();

  // The log lines saying a response of `method` could not be serialised.
  size_t logged(const std::string& method) {
    return capture.lines("/bench.v1.Bench/" + method + ": ").size();
  }

  // The server still answers.
  void still_serving() {
    grpc::ClientContext ctx;
    Payload req, resp;
    req.set_data("small");
    auto st = stub->Unary(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.data(), "small");
  }
};

TEST_F(serialize, unary_response_too_big_to_serialise_is_internal) {
  grpc::ClientContext ctx;
  Payload req, resp;
  req.set_data("huge");
  auto st = stub->Unary(&ctx, req, &resp);
  std::cout << "unary: " << st.error_code() << " " << st.error_message() << ", "
            << resp.data().size() << " bytes of response\n";
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL) << st.error_message();
  EXPECT_EQ(logged("Unary"), 1u);
  still_serving();
}

TEST_F(serialize, server_stream_message_too_big_to_serialise_is_internal) {
  grpc::ClientContext ctx;
  StreamRequest req;
  req.set_count(1);
  auto reader = stub->ServerStream(&ctx, req);
  Payload msg;
  int read = 0;
  while (reader->Read(&msg))
    ++read;
  auto st = reader->Finish();
  std::cout << "server stream: " << read << " messages, then " << st.error_code() << " "
            << st.error_message() << "\n";
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL) << st.error_message();
  EXPECT_LE(read, 1);  // the small one before, never an empty stand-in
  EXPECT_EQ(logged("ServerStream"), 1u);
  still_serving();
}

TEST_F(serialize, bidi_message_too_big_to_serialise_is_internal) {
  const size_t actors = server.running_actors();
  grpc::ClientContext ctx;
  auto stream = stub->Bidi(&ctx);
  Payload msg;
  msg.set_data("first");
  ASSERT_TRUE(stream->Write(msg));
  ASSERT_TRUE(stream->Read(&msg));
  EXPECT_EQ(msg.data(), "first");
  msg.set_data("huge");
  stream->Write(msg);
  stream->WritesDone();
  int read = 0;
  while (stream->Read(&msg))
    ++read;
  auto st = stream->Finish();
  std::cout << "bidi: " << read << " more messages, then " << st.error_code() << " "
            << st.error_message() << "\n";
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL) << st.error_message();
  EXPECT_EQ(read, 0);
  EXPECT_EQ(logged("Bidi"), 1u);
  // The actor was told the call is over and quit.
  EXPECT_TRUE(wait_until([&] { return server.running_actors() == actors; }));
  still_serving();
}

}  // namespace
}  // namespace troupe::test
