// Server reflection as a stock client sees it: the generated v1alpha and v1
// stubs list every service and fetch the files that describe them.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include <google/protobuf/descriptor.pb.h>

#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "reflection/reflection_service.hpp"
#include "support/probe_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

namespace v1alpha = grpc::reflection::v1alpha;
namespace v1 = grpc::reflection::v1;

template <class Stub, class Req, class Resp>
class reflection_client {
public:
  explicit reflection_client(std::shared_ptr<grpc::Channel> channel)
      : stub_(Stub::NewStub(std::move(channel))) {
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    stream_ = stub_->ServerReflectionInfo(&ctx_);
  }

  Resp ask(const Req& req) {
    Resp resp;
    EXPECT_TRUE(stream_->Write(req));
    EXPECT_TRUE(stream_->Read(&resp));
    return resp;
  }

  std::vector<std::string> list_services() {
    Req req;
    req.set_list_services("");
    std::vector<std::string> names;
    auto resp = ask(req);
    for (auto& s : resp.list_services_response().service())
      names.push_back(s.name());
    return names;
  }

  // The files of a file_descriptor_response, by name, in order.
  static std::vector<std::string> file_names(const Resp& resp) {
    std::vector<std::string> names;
    for (auto& bytes : resp.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      EXPECT_TRUE(file.ParseFromString(bytes));
      names.push_back(file.name());
    }
    return names;
  }

  grpc::Status close() {
    stream_->WritesDone();
    return stream_->Finish();
  }

private:
  std::unique_ptr<typename Stub::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<Req, Resp>> stream_;
};

using alpha_client = reflection_client<v1alpha::ServerReflection, v1alpha::ServerReflectionRequest,
                                       v1alpha::ServerReflectionResponse>;
using v1_client = reflection_client<v1::ServerReflection, v1::ServerReflectionRequest,
                                    v1::ServerReflectionResponse>;

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

class reflection : public ::testing::Test {
protected:
  test_server server{[](troupe::server& s) {
    s.add(probe_service(std::make_shared<probe>()));
    services::add_reflection(s);
  }};
};

TEST_F(reflection, v1alpha_lists_every_service) {
  alpha_client c{server.channel()};
  auto names = c.list_services();
  for (auto name : {"bench.v1.Bench", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                    "grpc.reflection.v1alpha.ServerReflection"})
    EXPECT_TRUE(contains(names, name)) << name;
  EXPECT_EQ(names.size(), 4u);
  EXPECT_TRUE(c.close().ok());
}

TEST_F(reflection, v1alpha_resolves_a_service_to_its_file) {
  alpha_client c{server.channel()};
  v1alpha::ServerReflectionRequest req;
  req.set_host("any");
  req.set_file_containing_symbol("bench.v1.Bench");
  auto resp = c.ask(req);
  EXPECT_EQ(resp.valid_host(), "any");
  EXPECT_EQ(resp.original_request().file_containing_symbol(), "bench.v1.Bench");
  auto files = alpha_client::file_names(resp);
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files.front(), "bench/v1/bench.proto");
  // A method and a message resolve to the same file; health resolves too.
  req.set_file_containing_symbol("bench.v1.Bench.Unary");
  EXPECT_EQ(alpha_client::file_names(c.ask(req)).front(), "bench/v1/bench.proto");
  req.set_file_containing_symbol("bench.v1.Payload");
  EXPECT_EQ(alpha_client::file_names(c.ask(req)).front(), "bench/v1/bench.proto");
  req.set_file_containing_symbol("grpc.health.v1.Health");
  EXPECT_EQ(alpha_client::file_names(c.ask(req)).front(), "grpc/health/v1/health.proto");
  EXPECT_TRUE(c.close().ok());
}

TEST_F(reflection, a_file_comes_with_its_imports) {
  v1_client c{server.channel()};
  v1::ServerReflectionRequest req;
  req.set_file_by_filename("grpc/reflection/v1/reflection.proto");
  EXPECT_EQ(v1_client::file_names(c.ask(req)),
            std::vector<std::string>{"grpc/reflection/v1/reflection.proto"});
  req.set_file_by_filename("google/protobuf/descriptor.proto");
  EXPECT_EQ(v1_client::file_names(c.ask(req)).front(), "google/protobuf/descriptor.proto");
  EXPECT_TRUE(c.close().ok());
}

TEST_F(reflection, unknown_names_and_extensions_are_not_found) {
  v1_client c{server.channel()};
  v1::ServerReflectionRequest req;
  req.set_file_containing_symbol("no.such.Service");
  auto resp = c.ask(req);
  EXPECT_EQ(resp.error_response().error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  req.set_file_by_filename("none.proto");
  EXPECT_EQ(c.ask(req).error_response().error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  req.mutable_file_containing_extension()->set_containing_type("bench.v1.Payload");
  req.mutable_file_containing_extension()->set_extension_number(100);
  EXPECT_EQ(c.ask(req).error_response().error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  req.set_all_extension_numbers_of_type("bench.v1.Payload");
  resp = c.ask(req);
  EXPECT_EQ(resp.all_extension_numbers_response().base_type_name(), "bench.v1.Payload");
  EXPECT_EQ(resp.all_extension_numbers_response().extension_number_size(), 0);
  EXPECT_EQ(c.list_services().size(), 4u);
  EXPECT_TRUE(c.close().ok());
}

TEST_F(reflection, many_requests_before_reading_are_all_answered) {
  // More requests than the stream's write window, sent before any response
  // is read: the service pauses its input, and nothing is lost.
  grpc::ClientContext ctx;
  auto stub = v1::ServerReflection::NewStub(server.channel(1));
  auto stream = stub->ServerReflectionInfo(&ctx);
  constexpr int n = 200;
  std::thread writer([&] {
    v1::ServerReflectionRequest req;
    req.set_file_by_filename("google/protobuf/descriptor.proto");
    for (int i = 0; i < n; ++i)
      stream->Write(req);
    stream->WritesDone();
  });
  int answered = 0;
  v1::ServerReflectionResponse resp;
  while (stream->Read(&resp))
    answered += resp.has_file_descriptor_response();
  writer.join();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answered, n);
}

}  // namespace
}  // namespace troupe::test
