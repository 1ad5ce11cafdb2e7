// `troupe apikey create|list|revoke` against the database a running
// `troupe serve` with require_auth uses: the key printed once works, its use
// is counted in the table, revoking it locks it out within cache_ttl_s.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <regex>

#include "bench/v1/bench.grpc.pb.h"
#include "support/temp_folder.hpp"
#include "support/test_server.hpp"
#include "troupe_process.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;

class apikey : public ::testing::Test {
protected:
  void SetUp() override {
    std::ofstream(config) << "[server]\nport = 0\nshutdown_grace_s = 1\ntransport_threads = 1\n"
                             "[scheduler]\nmax_threads = 2\n"
                             "[database]\nurl = \"sqlite://" << dir / "troupe.db" << "\"\nworkers = 2\n"
                             "[auth]\nrequire_auth = true\ncache_ttl_s = 0.5\n";
  }

  struct run_result {
    int code = -1;
    std::string out;
    std::string err;
  };

  // Runs `troupe apikey ARGS --config F` to its end.
  run_result run(std::vector<std::string> args) {
    args.insert(args.begin(), "apikey");
    args.insert(args.end(), {"--config", config});
    troupe_process p(args);
    run_result r;
    r.code = p.wait_exit(30s).value_or(-1);
    r.out = p.stdout_text();
    r.err = p.stderr_text();
    return r;
  }

  grpc::StatusCode unary(int port, const std::string& key) {
    auto stub = bench::v1::Bench::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    if (!key.empty())
      ctx.AddMetadata("x-api-key", key);
    bench::v1::Payload req, resp;
    return stub->Unary(&ctx, req, &resp).error_code();
  }

  // The `list` line of the key with `prefix`.
  std::string list_line(const std::string& prefix) {
    auto r = run({"list"});
    EXPECT_EQ(r.code, 0) << r.err;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind(prefix, 0) == 0)
        return line;
    return {};
  }

  temp_folder dir{"troupe-apikey"};
  std::string config = dir / "troupe.toml";
};

TEST_F(apikey, a_created_key_serves_is_counted_and_revoked) {
  auto created = run({"create", "--user", "alice", "--name", "ci", "--expires", "30"});
  ASSERT_EQ(created.code, 0) << created.err;
  // The key is the last line: 64 hex digits, and nowhere else in the output.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(created.out, m, std::regex("\n([0-9a-f]{64})\n$"))) << created.out;
  std::string key = m[1];
  std::string prefix = key.substr(0, 8);
  EXPECT_EQ(created.out.find(key), created.out.rfind(key));

  auto line = list_line(prefix);
  EXPECT_NE(line.find("alice"), std::string::npos) << line;
  EXPECT_NE(line.find("active"), std::string::npos) << line;
  EXPECT_EQ(line.find(key), std::string::npos) << "list must never show the key";

  troupe_process server({"serve", "--config", config}, {"TROUPE_SERVER_BENCH_SERVICE=true"});
  int port = server.wait_listening();
  ASSERT_GT(port, 0) << server.stderr_text();
  EXPECT_EQ(unary(port, ""), grpc::StatusCode::UNAUTHENTICATED);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(unary(port, key), grpc::StatusCode::OK);

  // Counted in memory, written within about a second.
  EXPECT_TRUE(wait_until([&] { return std::regex_search(list_line(prefix), std::regex(" 3 +active")); }, 10s))
    << list_line(prefix);

  auto revoked = run({"revoke", prefix});
  ASSERT_EQ(revoked.code, 0) << revoked.err;
  EXPECT_NE(revoked.out.find("revoked"), std::string::npos);
  EXPECT_TRUE(wait_until([&] { return unary(port, key) == grpc::StatusCode::UNAUTHENTICATED; }, 5s));
  EXPECT_NE(list_line(prefix).find("revoked"), std::string::npos);

  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(10s), 0) << server.stderr_text();
}

TEST_F(apikey, bad_prefixes_are_one_line_errors) {
  for (auto* prefix : {"zz", "00000000"}) {
    auto r = run({"revoke", prefix});
    EXPECT_EQ(r.code, 1) << prefix;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(prefix), std::string::npos) << r.err;
  }
  auto r = run({"create"});  // no --user
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--user"), std::string::npos) << r.err;
}

TEST_F(apikey, an_expiry_too_far_or_not_a_whole_number_of_days_is_a_one_line_error) {
  // 2000000000 days fits an int but not the clock: it used to wrap to 1738.
  for (auto* days : {"1e30", "99999999999999999999", "2000000000", "36501", "0", "-5", "7x"}) {
    auto r = run({"create", "--user", "alice", "--expires", days});
    EXPECT_NE(r.code, 0) << days << ": " << r.out;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << days << ": " << r.err;
    EXPECT_NE(r.err.find("--expires"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(days), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("API key"), std::string::npos) << days << ": " << r.out;
  }
  auto longest = run({"create", "--user", "alice", "--expires", "36500"});
  EXPECT_EQ(longest.code, 0) << longest.err;
  auto list = run({"list"});
  EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'), 2) << "only the 36500-day key: " << list.out;
}

}  // namespace
}  // namespace troupe::test
