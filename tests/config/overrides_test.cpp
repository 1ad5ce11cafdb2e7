// Values from the environment (TROUPE_<SECTION>_<KEY>) and from flags: the
// same schema as the file, errors naming the variable or flag.
#include <gtest/gtest.h>

#include <troupe/config.hpp>

namespace troupe::test {
namespace {

std::string env_error(const std::vector<std::string>& env) {
  config cfg;
  try {
    apply_environment(cfg, env);
  } catch (const config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(environment, overrides_every_kind_of_key) {
  config cfg;
  apply_environment(cfg, {
    "TROUPE_SERVER_PORT=50052",
    "TROUPE_SERVER_HOST=0.0.0.0",
    "TROUPE_SERVER_SHUTDOWN_GRACE_S=2.5",
    "TROUPE_SERVER_REFLECTION=false",
    "TROUPE_SCHEDULER_POLICY=stealing",
    "TROUPE_DATABASE_WORKERS=7",
    "TROUPE_AUTH_PUBLIC_METHODS=/a.B/C, /d.E/F",
    "TROUPE_TLS_CERT=/etc/troupe/cert.pem",
    "TROUPE_LOGGING_LEVEL=debug",
  });
  EXPECT_EQ(cfg.server.port, 50052);
  EXPECT_EQ(cfg.server.host, "0.0.0.0");
  EXPECT_DOUBLE_EQ(cfg.server.shutdown_grace_s, 2.5);
  EXPECT_FALSE(cfg.server.reflection);
  EXPECT_EQ(cfg.scheduler.policy, "stealing");
  EXPECT_EQ(cfg.database.workers, 7);
  EXPECT_EQ(cfg.auth.public_methods, (std::vector<std::string>{"/a.B/C", "/d.E/F"}));
  EXPECT_EQ(cfg.tls.cert, "/etc/troupe/cert.pem");
  EXPECT_EQ(cfg.logging.level, "debug");
}

TEST(environment, leaves_other_variables_alone) {
  config cfg;
  apply_environment(cfg, {"PATH=/usr/bin", "TROUPE_TEST_PG_DIR=/tmp/x", "TROUPE=1", "TROUPE_SERVER"});
  EXPECT_EQ(to_toml(cfg), to_toml(config{}));
}

TEST(environment, an_empty_array_variable_empties_the_array) {
  config cfg;
  apply_environment(cfg, {"TROUPE_AUTH_PUBLIC_METHODS="});
  EXPECT_TRUE(cfg.auth.public_methods.empty());
}

TEST(environment, a_bad_value_is_one_line_naming_the_variable) {
  EXPECT_EQ(env_error({"TROUPE_SERVER_PORT=abc"}),
            "TROUPE_SERVER_PORT: [server] port: expected an integer (got 'abc')");
  EXPECT_EQ(env_error({"TROUPE_SERVER_PORT=70000"}),
            "TROUPE_SERVER_PORT: [server] port: must be between 0 and 65535 (got '70000')");
  EXPECT_EQ(env_error({"TROUPE_SERVER_DEBUG=yes"}),
            "TROUPE_SERVER_DEBUG: [server] debug: expected a boolean (got 'yes')");
  EXPECT_EQ(env_error({"TROUPE_SERVER_SHUTDOWN_GRACE_S=soon"}),
            "TROUPE_SERVER_SHUTDOWN_GRACE_S: [server] shutdown_grace_s: expected a number (got 'soon')");
  EXPECT_EQ(env_error({"TROUPE_LOGGING_FORMAT=xml"}),
            "TROUPE_LOGGING_FORMAT: [logging] format: must be one of text json (got 'xml')");
  EXPECT_EQ(env_error({"TROUPE_AUTH_PUBLIC_METHODS=Check"}),
            "TROUPE_AUTH_PUBLIC_METHODS: [auth] public_methods: 'Check' is not a method path "
            "like /package.Service/Method (got 'Check')");
}

TEST(environment, an_unknown_key_of_a_known_section_is_an_error) {
  EXPECT_EQ(env_error({"TROUPE_SERVER_PROT=1"}),
            "TROUPE_SERVER_PROT: unknown configuration variable (did you mean 'TROUPE_SERVER_PORT'?)");
}

TEST(flags, are_checked_like_the_file) {
  config cfg;
  set_value(cfg, "scheduler", "max_threads", "3", "--threads");
  EXPECT_EQ(cfg.scheduler.max_threads, 3);
  try {
    set_value(cfg, "database", "workers", "0", "--workers");
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()), "--workers: [database] workers: must be between 1 and 1024 (got '0')");
  }
}

TEST(validate, catches_rules_broken_by_overrides) {
  config cfg;
  set_value(cfg, "tls", "cert", "c.pem", "TROUPE_TLS_CERT");
  try {
    validate(cfg);
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()), "[tls] cert: set without [tls] key (TLS needs both)");
  }
}

}  // namespace
}  // namespace troupe::test
