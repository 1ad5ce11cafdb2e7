// `troupe serve` as a process: SIGTERM drains within the grace period, and
// --no-health-check / --no-reflection really remove those services.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "support/temp_folder.hpp"
#include "support/test_server.hpp"
#include "troupe_process.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;

// A config file for a quick local server with its own database (tests run in
// parallel); both removed when the test ends.
class serve : public ::testing::Test {
protected:
  void SetUp() override {
    std::ofstream(path) << "[server]\nport = 0\nshutdown_grace_s = 1\ntransport_threads = 1\n"
                           "[scheduler]\nmax_threads = 2\n"
                           "[database]\nurl = \"sqlite://" << dir / "troupe.db" << "\"\n";
  }

  static std::shared_ptr<grpc::Channel> channel(int port) {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  }

  static grpc::StatusCode health_check(int port) {
    auto stub = grpc::health::v1::Health::NewStub(channel(port));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    return stub->Check(&ctx, req, &resp).error_code();
  }

  static grpc::StatusCode list_services(int port) {
    auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel(port));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    auto stream = stub->ServerReflectionInfo(&ctx);
    grpc::reflection::v1alpha::ServerReflectionRequest req;
    req.set_list_services("");
    grpc::reflection::v1alpha::ServerReflectionResponse resp;
    stream->Write(req);
    bool answered = stream->Read(&resp);
    stream->WritesDone();
    auto st = stream->Finish();
    return answered && st.ok() ? grpc::StatusCode::OK : st.error_code();
  }

  temp_folder dir{"troupe-serve"};
  std::string path = dir / "troupe.toml";
};

TEST_F(serve, sigterm_ends_idle_streams_with_a_status_and_exits_0_within_the_grace) {
  troupe_process troupe{{"serve", "--config", path}};
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();

  auto stub = bench::v1::Bench::NewStub(channel(port));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  bench::v1::StreamRequest hold;
  hold.set_count(-1);
  auto stream = stub->ServerStream(&ctx, hold);
  stream->WaitForInitialMetadata();

  troupe.signal(SIGTERM);
  auto code = troupe.wait_exit(1s + 1s);  // shutdown_grace_s + 1 s
  ASSERT_TRUE(code.has_value()) << "still running or killed; stderr: " << troupe.stderr_text();
  EXPECT_EQ(*code, 0) << troupe.stderr_text();

  bench::v1::Payload msg;
  EXPECT_FALSE(stream->Read(&msg));
  auto st = stream->Finish();
  EXPECT_TRUE(st.error_code() == grpc::StatusCode::UNAVAILABLE ||
              st.error_code() == grpc::StatusCode::CANCELLED)
    << st.error_code() << ": " << st.error_message();
}

TEST_F(serve, health_and_reflection_are_served_by_default) {
  troupe_process troupe{{"serve", "--config", path}};
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();
  EXPECT_EQ(health_check(port), grpc::StatusCode::OK);
  EXPECT_EQ(list_services(port), grpc::StatusCode::OK);
  troupe.signal(SIGTERM);
  EXPECT_EQ(troupe.wait_exit(10s), 0);
}

TEST_F(serve, no_health_check_and_no_reflection_remove_the_services) {
  troupe_process troupe{{"serve", "--config", path, "--no-health-check", "--no-reflection"}};
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();
  EXPECT_EQ(health_check(port), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(list_services(port), grpc::StatusCode::UNIMPLEMENTED);
  troupe.signal(SIGTERM);
  EXPECT_EQ(troupe.wait_exit(10s), 0);
}

TEST_F(serve, a_server_without_auth_says_so_at_start_up) {
  troupe_process troupe{{"serve", "--config", path}};
  ASSERT_NE(troupe.wait_listening(), 0) << troupe.stderr_text();
  auto err = troupe.stderr_text();
  EXPECT_NE(err.find("[auth] is off: API keys are not checked"), std::string::npos) << err;
  troupe.signal(SIGTERM);
  EXPECT_EQ(troupe.wait_exit(10s), 0);
}

TEST_F(serve, json_logging_writes_one_object_per_line_request_lines_included) {
  troupe_process troupe{{"serve", "--config", path},
                        {"TROUPE_LOGGING_FORMAT=json", "TROUPE_LOGGING_REQUEST_LOG=all"}};
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();
  ASSERT_EQ(health_check(port), grpc::StatusCode::OK);
  troupe.signal(SIGTERM);
  ASSERT_EQ(troupe.wait_exit(10s), 0);

  std::istringstream lines(troupe.stderr_text());
  int objects = 0;
  bool request_line = false;
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << "not a JSON object: " << line;
    ASSERT_TRUE(j.contains("time") && j.contains("level") && j.contains("message")) << line;
    ++objects;
    auto msg = j["message"].get<std::string>();
    if (msg.find("method=/grpc.health.v1.Health/Check") != std::string::npos) {
      request_line = true;
      EXPECT_NE(msg.find("status=OK"), std::string::npos) << msg;
    }
  }
  EXPECT_GE(objects, 3);  // start-up, the call, shutdown
  EXPECT_TRUE(request_line) << troupe.stderr_text();
}

}  // namespace
}  // namespace troupe::test
