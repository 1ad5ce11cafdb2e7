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

TEST(config, edge_settings_are_read) {
  auto cfg = parse_config(R"(
[server]
keepalive_time_s = 5
keepalive_timeout_s = 2.5
keepalive_permit_without_calls = false
max_connection_idle_s = 60
max_connection_age_s = 3600
debug = true
[auth]
enabled = true
require_auth = true
header = "x-key"
public_methods = ["/a.B/C"]
[logging]
format = "json"
request_log = "errors"
[tls]
cert = "c.pem"
key = "k.pem"
client_ca = "ca.pem"
require_client_cert = true
)",
                          "t.toml");
  EXPECT_DOUBLE_EQ(cfg.server.keepalive_time_s, 5.0);
  EXPECT_DOUBLE_EQ(cfg.server.keepalive_timeout_s, 2.5);
  EXPECT_FALSE(cfg.server.keepalive_permit_without_calls);
  EXPECT_DOUBLE_EQ(cfg.server.max_connection_idle_s, 60.0);
  EXPECT_DOUBLE_EQ(cfg.server.max_connection_age_s, 3600.0);
  EXPECT_TRUE(cfg.server.debug);
  EXPECT_TRUE(cfg.auth.enabled);
  EXPECT_TRUE(cfg.auth.require_auth);
  EXPECT_EQ(cfg.auth.header, "x-key");
  EXPECT_EQ(cfg.auth.public_methods, std::vector<std::string>{"/a.B/C"});
  EXPECT_EQ(cfg.logging.format, "json");
  EXPECT_EQ(cfg.logging.request_log, "errors");
  EXPECT_EQ(cfg.tls.cert, "c.pem");
  EXPECT_EQ(cfg.tls.key, "k.pem");
  EXPECT_EQ(cfg.tls.client_ca, "ca.pem");
  EXPECT_TRUE(cfg.tls.require_client_cert);
  EXPECT_TRUE(cfg.tls.enabled());
}

TEST(config, defaults_are_safe_for_a_first_run) {
  config cfg;
  EXPECT_EQ(cfg.server.host, "127.0.0.1");  // not reachable from other machines
  EXPECT_FALSE(cfg.tls.enabled());
  EXPECT_FALSE(cfg.auth.enabled);
  EXPECT_EQ(cfg.auth.header, "x-api-key");
  EXPECT_EQ(cfg.auth.public_methods.size(), 4u);
  EXPECT_EQ(cfg.logging.request_log, "off");
  EXPECT_GT(cfg.server.shutdown_grace_s, 0);
}

TEST(config, printed_config_reads_back_the_same) {
  auto cfg = parse_config("[auth]\npublic_methods = []\n[tls]\ncert = \"c\"\nkey = \"k\"\n", "t.toml");
  EXPECT_TRUE(cfg.auth.public_methods.empty());
  EXPECT_EQ(to_toml(parse_config(to_toml(cfg), "printed")), to_toml(cfg));
}

TEST(config, syntax_error_names_file_line_and_column) {
  auto err = error_of("[server]\nport = 50051\nhost = \"127.0.0.1\n");
  EXPECT_EQ(err.rfind("t.toml:3:", 0), 0u) << err;
  EXPECT_NE(err.find("TOML syntax error"), std::string::npos) << err;
}

// Found by fuzz_config (tests/fuzz/corpus/fuzz_config/newline_in_syntax_error):
// toml++ quotes the character it choked on, a newline included.
TEST(config, a_syntax_error_at_a_control_character_is_still_one_line) {
  auto err = error_of("[server]\nshutdown_grace_s = i\ns\n");
  EXPECT_EQ(err.rfind("t.toml:2:", 0), 0u) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  EXPECT_NE(err.find("\\n"), std::string::npos) << err;
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

TEST(config, each_error_class_of_the_new_keys_is_one_line) {
  EXPECT_EQ(error_of("[server]\nkeepalive_timeout_s = 0\n"),
            "t.toml:2:23: [server] keepalive_timeout_s: must be above 0 and at most 3600");
  EXPECT_EQ(error_of("[server]\nmax_connection_age_s = -1\n"),
            "t.toml:2:24: [server] max_connection_age_s: must be between 0 and 2000000");
  EXPECT_EQ(error_of("[server]\nkeepalive_time_s = \"5\"\n"),
            "t.toml:2:20: [server] keepalive_time_s: expected a number");
  EXPECT_EQ(error_of("[server]\nport = 99999999999\n"), "t.toml:2:8: [server] port: integer out of range");
  EXPECT_EQ(error_of("[server]\nkeepalive_tim_s = 5\n"),
            "t.toml:2:1: [server] keepalive_tim_s: unknown key (did you mean 'keepalive_time_s'?)");
  EXPECT_EQ(error_of("[tsl]\ncert = \"c\"\n"), "t.toml:1:1: [tsl]: unknown section (did you mean 'tls'?)");
  EXPECT_EQ(error_of("server = 1\n"), "t.toml:1:10: server: expected a table [server]");
  EXPECT_EQ(error_of("[auth]\npublic_methods = \"/a.B/C\"\n"),
            "t.toml:2:18: [auth] public_methods: expected an array of strings");
  EXPECT_EQ(error_of("[auth]\npublic_methods = [\"/a.B/C\", 3]\n"),
            "t.toml:2:18: [auth] public_methods: expected an array of strings");
  EXPECT_EQ(error_of("[auth]\npublic_methods = [\"Check\"]\n"),
            "t.toml:2:18: [auth] public_methods: 'Check' is not a method path like /package.Service/Method");
  EXPECT_EQ(error_of("[auth]\nheader = \"X-Api-Key\"\n"),
            "t.toml:2:10: [auth] header: must be a lower-case metadata key (a-z 0-9 - _ .)");
  EXPECT_EQ(error_of("[auth]\nheader = \"grpc-key\"\n"),
            "t.toml:2:10: [auth] header: must not start with grpc- (reserved by gRPC)");
  EXPECT_EQ(error_of("[logging]\nformat = \"xml\"\n"),
            "t.toml:2:10: [logging] format: must be one of text json");
  EXPECT_EQ(error_of("[logging]\nrequest_log = true\n"),
            "t.toml:2:15: [logging] request_log: expected a string");
}

TEST(config, tls_keys_that_need_each_other_are_errors) {
  EXPECT_EQ(error_of("[tls]\nkey = \"k.pem\"\n"),
            "t.toml:2:7: [tls] key: set without [tls] cert (TLS needs both)");
  EXPECT_EQ(error_of("[tls]\ncert = \"c.pem\"\n"),
            "t.toml:2:8: [tls] cert: set without [tls] key (TLS needs both)");
  EXPECT_EQ(error_of("[tls]\nclient_ca = \"ca.pem\"\n"),
            "t.toml:2:13: [tls] client_ca: needs [tls] cert and key (client certificates need TLS)");
  EXPECT_EQ(error_of("[tls]\ncert = \"c\"\nkey = \"k\"\nrequire_client_cert = true\n"),
            "t.toml:4:23: [tls] require_client_cert: needs [tls] client_ca to verify client certificates");
}

TEST(config, anonymous_inflight_cap_is_a_share_of_max_inflight) {
  EXPECT_EQ(parse_config("", "t.toml").server.anonymous_inflight_limit(), 1000);
  EXPECT_EQ(parse_config("[server]\nmax_inflight = 5\n", "t.toml").server.anonymous_inflight_limit(), 1);
  EXPECT_EQ(parse_config("[server]\nmax_inflight_anonymous = 7\n", "t.toml").server.anonymous_inflight_limit(), 7);
  EXPECT_EQ(error_of("[server]\nmax_inflight = 10\nmax_inflight_anonymous = 11\n"),
            "t.toml:3:26: [server] max_inflight_anonymous: is above [server] max_inflight (a share of it)");
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
