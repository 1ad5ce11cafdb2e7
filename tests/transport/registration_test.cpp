// Registration is checked against the protobuf descriptor.
#include <gtest/gtest.h>

#include <troupe/service.hpp>

#include "bench/v1/bench.pb.h"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;
using bench::v1::Summary;

caf::behavior nothing(troupe::stream_actor<Payload, Payload>) { return {}; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(registration, unknown_service_is_refused) {
  EXPECT_EQ(error_of([] { troupe::service svc{"bench.v1.Nope"}; }),
            "service bench.v1.Nope: no such service in the linked .proto descriptors");
}

TEST(registration, method_mismatches_are_refused_by_name) {
  troupe::service svc{"bench.v1.Bench"};
  EXPECT_EQ(error_of([&] { svc.bidi<Payload, Payload>("Missing", nothing); }),
            "bench.v1.Bench/Missing: no such method in the .proto");
  EXPECT_EQ(error_of([&] { svc.bidi<Payload, Payload>("ServerStream", nothing); }),
            "bench.v1.Bench/ServerStream: request type is bench.v1.StreamRequest in the .proto, "
            "registered as bench.v1.Payload");
  EXPECT_EQ(error_of([&] {
              svc.unary<Payload, Summary>("Unary", [](call&, const Payload&) -> result<Summary> {
                return Summary{};
              });
            }),
            "bench.v1.Bench/Unary: response type is bench.v1.Payload in the .proto, registered "
            "as bench.v1.Summary");
  EXPECT_EQ(error_of([&] { svc.bidi<Payload, Payload>("Unary", nothing); }),
            "bench.v1.Bench/Unary: declared unary in the .proto, registered as bidi");
  svc.bidi<Payload, Payload>("Bidi", nothing);
  EXPECT_EQ(error_of([&] { svc.bidi<Payload, Payload>("Bidi", nothing); }),
            "bench.v1.Bench/Bidi: registered twice");
}

TEST(registration, plain_function_handlers_answer_and_fail_with_statuses) {
  troupe::service svc{"bench.v1.Bench"};
  svc.unary<Payload, Payload>("Unary", [](call& c, const Payload& req) -> result<Payload> {
    if (req.data().empty())
      return invalid_argument("data is required");
    if (req.data() == "boom")
      throw std::logic_error("internal detail");
    c.set_trailing_metadata("x-seen", req.data());
    return req;
  });
  test_server server{[&](troupe::server& s) { s.add(svc); }};
  auto stub = server.bench();
  {
    grpc::ClientContext ctx;
    Payload req, resp;
    req.set_data("hi");
    ASSERT_TRUE(stub->Unary(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.data(), "hi");
    auto md = ctx.GetServerTrailingMetadata().find("x-seen");
    ASSERT_NE(md, ctx.GetServerTrailingMetadata().end());
    EXPECT_EQ(std::string(md->second.data(), md->second.size()), "hi");
  }
  {
    grpc::ClientContext ctx;
    Payload req, resp;
    auto st = stub->Unary(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(st.error_message(), "data is required");
  }
  {
    grpc::ClientContext ctx;
    Payload req, resp;
    req.set_data("boom");
    auto st = stub->Unary(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL);
    EXPECT_EQ(st.error_message(), "internal error");
  }
}

}  // namespace
}  // namespace troupe::test
