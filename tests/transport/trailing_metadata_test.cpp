// Trailing metadata a handler sets: what gRPC would refuse (and grpc++ then
// abort the process for) ends that call with INTERNAL and one log line; the
// server keeps serving.
#include <gtest/gtest.h>

#include "logging/log_capture.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using bench::v1::Payload;

// Unary: a request "key=value" sets that trailing metadata, then echoes.
troupe::service metadata_service() {
  troupe::service svc{"bench.v1.Bench"};
  svc.unary<Payload, Payload>("Unary", [](troupe::call& c, const Payload& req) -> result<Payload> {
    auto eq = req.data().find('=');
    c.set_trailing_metadata(req.data().substr(0, eq), req.data().substr(eq + 1));
    return req;
  });
  return svc;
}

// Calls Unary with `data`; with `trailer_key`, returns that trailer's value
// (or "<absent>") in `trailer_value`.
grpc::Status call_with(bench::v1::Bench::Stub& stub, const std::string& data,
                       std::string* trailer_key = nullptr, std::string* trailer_value = nullptr) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  Payload req, resp;
  req.set_data(data);
  auto st = stub.Unary(&ctx, req, &resp);
  if (trailer_key) {
    auto& md = ctx.GetServerTrailingMetadata();
    auto it = md.find(*trailer_key);
    *trailer_value = it == md.end() ? "<absent>" : std::string(it->second.data(), it->second.size());
  }
  return st;
}

TEST(trailing_metadata, invalid_metadata_ends_the_call_with_internal_and_the_server_keeps_serving) {
  log_capture capture;
  test_server server{[](troupe::server& s) { s.add(metadata_service()); }};
  auto stub = server.bench();
  const std::vector<std::string> bad = {
    "Upper-Case=v",          // upper-case key
    "with space=v",          // a character gRPC refuses in keys
    "semi;colon=v",
    ":path=/other",          // a pseudo-header
    "=v",                    // empty key
    "grpc-status=0",         // reserved by gRPC
    "grpc-message=all fine",
    "x-note=line\nbreak",    // control characters in a text value
    "x-note=tab\there",
    "x-note=del\x7f",
    "x-note=caf\xc3\xa9",    // not ASCII
    std::string("x-note=nul\0byte", 14),
  };
  for (auto& data : bad) {
    auto st = call_with(*stub, data);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL) << data << ": " << st.error_message();
    // The next call on the same server and connection is served.
    std::string key = "x-ok", value;
    auto ok = call_with(*stub, "x-ok=fine value", &key, &value);
    EXPECT_TRUE(ok.ok()) << "after " << data << ": " << ok.error_message();
    EXPECT_EQ(value, "fine value");
  }
  EXPECT_EQ(capture.lines("/bench.v1.Bench/Unary: handler set invalid trailing metadata").size(),
            bad.size());

  // Binary values under a -bin key may hold any byte.
  std::string key = "x-blob-bin", value;
  std::string blob("\x00\xff\n\x7f", 4);
  auto st = call_with(*stub, "x-blob-bin=" + blob, &key, &value);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(value, blob);
  EXPECT_TRUE(wait_until([&] { return server.server().stats().inflight == 0; }));
}

}  // namespace
}  // namespace troupe::test
