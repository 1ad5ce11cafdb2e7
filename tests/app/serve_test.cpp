// `troupe serve` as a process: SIGTERM drains within the grace period,
// --no-health-check / --no-reflection really remove those services,
// bench.v1.Bench is served only when asked for, JSON log lines stay JSON, and
// the SQLite files are private.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <grpcpp/generic/generic_stub.h>

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

  // Reflection's list of services; the names listed go to `names`.
  static grpc::StatusCode list_services(int port, std::vector<std::string>* names = nullptr) {
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
    if (names)
      for (auto& svc : resp.list_services_response().service())
        names->push_back(svc.name());
    return answered && st.ok() ? grpc::StatusCode::OK : st.error_code();
  }

  // ServerStream of `count` messages of `size` bytes: the status, and in
  // `received` how many arrived.
  static grpc::Status server_stream(int port, int count, int size, int* received) {
    auto stub = bench::v1::Bench::NewStub(channel(port));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    bench::v1::StreamRequest req;
    req.set_count(count);
    req.set_size(size);
    auto stream = stub->ServerStream(&ctx, req);
    bench::v1::Payload msg;
    *received = 0;
    while (stream->Read(&msg))
      ++*received;
    return stream->Finish();
  }

  static grpc::StatusCode bench_unary(int port) {
    auto stub = bench::v1::Bench::NewStub(channel(port));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    bench::v1::Payload req, resp;
    return stub->Unary(&ctx, req, &resp).error_code();
  }

  // Every stderr line parsed as JSON (stops the test at the first that is not).
  static std::vector<nlohmann::json> json_lines(const std::string& text) {
    std::vector<nlohmann::json> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      EXPECT_TRUE(j.is_object()) << "not a JSON object: " << line;
      if (!j.is_object())
        return {};
      EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("message")) << line;
      out.push_back(std::move(j));
    }
    return out;
  }

  temp_folder dir{"troupe-serve"};
  std::string path = dir / "troupe.toml";
};

TEST_F(serve, sigterm_ends_idle_streams_with_a_status_and_exits_0_within_the_grace) {
  troupe_process troupe{{"serve", "--config", path}, {"TROUPE_SERVER_BENCH_SERVICE=true"}};
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

  auto lines = json_lines(troupe.stderr_text());
  bool request_line = false;
  for (auto& j : lines) {
    auto msg = j["message"].get<std::string>();
    if (msg.find("method=/grpc.health.v1.Health/Check") != std::string::npos) {
      request_line = true;
      EXPECT_NE(msg.find("status=OK"), std::string::npos) << msg;
    }
  }
  EXPECT_GE(lines.size(), 3u);  // start-up, the call, shutdown
  EXPECT_TRUE(request_line) << troupe.stderr_text();
}

TEST_F(serve, json_log_lines_stay_valid_utf8_json_whatever_bytes_a_client_sends) {
  troupe_process troupe{{"serve", "--config", path},
                        {"TROUPE_LOGGING_FORMAT=json", "TROUPE_LOGGING_REQUEST_LOG=all"}};
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();
  // A method path with bytes that are not UTF-8 (a lone continuation byte, an
  // overlong form, 0xff), a control character, a quote and a backslash; a
  // request id with JSON's special characters (a gRPC client sends no more
  // than visible ASCII in metadata values; the formatter does not care where
  // the bytes came from).
  const std::string method = "/x.Y/bad\x80\xc0\xaf\xff\x01\"\\end";
  grpc::GenericStub generic(channel(port));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  ctx.AddMetadata("x-request-id", "id\"with\\quotes");
  grpc::Slice nothing(std::string{});
  grpc::ByteBuffer req(&nothing, 1), resp;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, method, grpc::StubOptions(), &req, &resp,
                    [&](grpc::Status st) { done.set_value(st); });
  auto st = done.get_future().get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED) << st.error_message();
  troupe.signal(SIGTERM);
  ASSERT_EQ(troupe.wait_exit(10s), 0);

  int bad_method_lines = 0;
  for (auto& j : json_lines(troupe.stderr_text())) {
    auto msg = j["message"].get<std::string>();
    if (msg.find("/x.Y/bad") == std::string::npos)
      continue;
    ++bad_method_lines;
    // Each invalid byte became U+FFFD; the rest came through as sent.
    EXPECT_NE(msg.find("/x.Y/bad\xef\xbf\xbd"), std::string::npos) << msg;
    EXPECT_NE(msg.find("end"), std::string::npos) << msg;
  }
  EXPECT_GE(bad_method_lines, 1) << troupe.stderr_text();
}

TEST_F(serve, bench_service_is_off_by_default) {
  troupe_process troupe{{"serve", "--config", path}};
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();
  EXPECT_EQ(bench_unary(port), grpc::StatusCode::UNIMPLEMENTED);
  int received = 0;
  EXPECT_EQ(server_stream(port, 1, 1024, &received).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  std::vector<std::string> names;
  ASSERT_EQ(list_services(port, &names), grpc::StatusCode::OK);
  EXPECT_EQ(std::count(names.begin(), names.end(), "bench.v1.Bench"), 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "demo.v1.UserService"), 1);
  troupe.signal(SIGTERM);
  EXPECT_EQ(troupe.wait_exit(10s), 0);
}

// The model services (troupe::models) are served and listed like the others.
TEST_F(serve, book_services_are_listed_by_reflection) {
  troupe_process troupe{{"serve", "--config", path}};
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();
  std::vector<std::string> names;
  ASSERT_EQ(list_services(port, &names), grpc::StatusCode::OK);
  EXPECT_EQ(std::count(names.begin(), names.end(), "demo.v1.BookService"), 1);
  EXPECT_EQ(std::count(names.begin(), names.end(), "demo.v1.BookController"), 1);
  troupe.signal(SIGTERM);
  EXPECT_EQ(troupe.wait_exit(10s), 0);
}

TEST_F(serve, bench_service_when_on_answers_and_keeps_stream_messages_within_max_send_message_bytes) {
  troupe_process troupe{{"serve", "--config", path},
                        {"TROUPE_SERVER_BENCH_SERVICE=true", "TROUPE_SERVER_MAX_SEND_MESSAGE_BYTES=65536"}};
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();
  EXPECT_NE(troupe.stderr_text().find("[server] bench_service is on"), std::string::npos) << troupe.stderr_text();
  EXPECT_EQ(bench_unary(port), grpc::StatusCode::OK);
  std::vector<std::string> names;
  ASSERT_EQ(list_services(port, &names), grpc::StatusCode::OK);
  EXPECT_EQ(std::count(names.begin(), names.end(), "bench.v1.Bench"), 1);

  // 65,532 bytes of data encode as a 65,536-byte Payload (tag, 3-byte length).
  int received = 0;
  auto st = server_stream(port, 2, 65532, &received);
  EXPECT_TRUE(st.ok()) << st.error_code() << ": " << st.error_message();
  EXPECT_EQ(received, 2);
  for (int size : {65533, 1 << 20}) {
    st = server_stream(port, 2, size, &received);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << size << ": " << st.error_message();
    EXPECT_NE(st.error_message().find("max_send_message_bytes (65536)"), std::string::npos) << st.error_message();
    EXPECT_EQ(received, 0);
  }
  EXPECT_EQ(bench_unary(port), grpc::StatusCode::OK);  // still serving
  troupe.signal(SIGTERM);
  EXPECT_EQ(troupe.wait_exit(10s), 0);
}

TEST_F(serve, the_sqlite_files_and_the_folder_made_for_them_are_private) {
  std::ofstream(path) << "[server]\nport = 0\nshutdown_grace_s = 1\ntransport_threads = 1\n"
                         "[database]\nurl = \"sqlite://" << dir / "var/troupe.db" << "\"\n";
  mode_t old_umask = umask(022);  // the usual one: without care, files come out 0644
  troupe_process troupe{{"serve", "--config", path}};
  umask(old_umask);
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();
  auto mode_of = [](const std::string& p) -> int {
    struct stat st {};
    return stat(p.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
  };
  // While it runs, so that the -wal and -shm files exist.
  EXPECT_EQ(mode_of(dir / "var"), 0700);
  for (auto* file : {"var/troupe.db", "var/troupe.db-wal", "var/troupe.db-shm"})
    EXPECT_EQ(mode_of(dir / file), 0600) << file;
  troupe.signal(SIGTERM);
  EXPECT_EQ(troupe.wait_exit(10s), 0);
}

}  // namespace
}  // namespace troupe::test
