// The configuration loader: defaults, values, and one clear line per mistake.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <troupe/actor_system.hpp>
#include <troupe/config.hpp>
#include <troupe/server.hpp>

#include "support/test_server.hpp"

namespace troupe::test {
namespace {

std::string error_of(const std::string& toml) {
  try {
    parse_config(toml, "t.toml");
  } catch (const config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(config, empty_file_gives_the_documented_defaults) {
  auto cfg = parse_config("", "t.toml");
  EXPECT_EQ(cfg.server.host, "127.0.0.1");
  EXPECT_EQ(cfg.server.port, 50051);
  EXPECT_EQ(cfg.scheduler.policy, "sharing");
  EXPECT_EQ(cfg.database.url, "sqlite://var/troupe.db");
}

TEST(config, the_shipped_file_matches_the_defaults) {
  auto shipped = load_config(TROUPE_SOURCE_DIR "/config/troupe.toml");
  EXPECT_EQ(to_toml(shipped), to_toml(config{}));
}

TEST(config, values_are_read) {
  auto cfg = parse_config(R"(
[server]
port = 0
shutdown_grace_s = 2
reflection = false
[scheduler]
policy = "stealing"
max_threads = 3
)",
                          "t.toml");
  EXPECT_EQ(cfg.server.port, 0);
  EXPECT_DOUBLE_EQ(cfg.server.shutdown_grace_s, 2.0);
  EXPECT_FALSE(cfg.server.reflection);
  EXPECT_EQ(cfg.scheduler.policy, "stealing");
  EXPECT_EQ(cfg.scheduler.max_threads, 3);
}

TEST(config, syntax_error_names_file_line_and_column) {
  auto err = error_of("[server]\nport = 50051\nhost = \"127.0.0.1\n");
  EXPECT_EQ(err.rfind("t.toml:3:", 0), 0u) << err;
  EXPECT_NE(err.find("TOML syntax error"), std::string::npos) << err;
}

TEST(config, unknown_key_is_an_error_with_a_suggestion) {
  EXPECT_EQ(error_of("[server]\nprot = 1\n"),
            "t.toml:2:1: [server] prot: unknown key (did you mean 'port'?)");
  EXPECT_EQ(error_of("[servr]\nport = 1\n"),
            "t.toml:1:1: [servr]: unknown section (did you mean 'server'?)");
  EXPECT_EQ(error_of("[server]\nzzzzzzzz = 1\n"), "t.toml:2:1: [server] zzzzzzzz: unknown key");
}

TEST(config, wrong_types_and_ranges_are_errors) {
  EXPECT_EQ(error_of("[server]\nport = \"x\"\n"), "t.toml:2:8: [server] port: expected an integer");
  EXPECT_EQ(error_of("[server]\nport = 70000\n"),
            "t.toml:2:8: [server] port: must be between 0 and 65535");
  EXPECT_EQ(error_of("[scheduler]\npolicy = \"fifo\"\n"),
            "t.toml:2:10: [scheduler] policy: must be one of sharing stealing");
  EXPECT_EQ(error_of("[server]\nreflection = 1\n"),
            "t.toml:2:14: [server] reflection: expected a boolean");
}

TEST(config, missing_file_is_one_line) {
  try {
    load_config("/nonexistent/troupe.toml");
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "/nonexistent/troupe.toml: cannot read config file: No such file or directory");
  }
}

TEST(config, scheduler_settings_reach_caf) {
  scheduler_config sc;
  sc.policy = "sharing";
  sc.max_threads = 3;
  sc.max_throughput = 77;
  caf::actor_system_config cfg;
  apply_scheduler_config(sc, cfg);
  caf::actor_system sys{cfg};
  EXPECT_EQ(caf::get_or(sys.config(), "scheduler.policy", caf::atom("")), caf::atom("sharing"));
  EXPECT_EQ(caf::get_or(sys.config(), "scheduler.max-threads", size_t{0}), 3u);
  EXPECT_EQ(caf::get_or(sys.config(), "scheduler.max-throughput", size_t{0}), 77u);
}

TEST(startup, port_in_use_is_refused) {
  test_server first{[](troupe::server&) {}};
  caf::actor_system_config caf_cfg;
  caf::actor_system sys{caf_cfg};
  auto cfg = local_config();
  cfg.port = first.port();
  troupe::server second{sys, cfg};
  try {
    second.start();
    FAIL() << "second server started on a port in use";
  } catch (const startup_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot listen on 127.0.0.1:" + std::to_string(cfg.port) +
                                       ": address in use or not available");
  }
}

}  // namespace
}  // namespace troupe::test
