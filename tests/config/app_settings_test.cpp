// Sections an application declares ([notes] ...): defaults, the file, the
// environment and flags, checked and printed like Troupe's own keys.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <troupe/config.hpp>

namespace troupe::test {
namespace {

// What an application like docs/examples/notes would declare.
app_settings notes_settings() {
  app_settings s;
  s.declare("notes", "greeting", "hello")
    .declare("notes", "max_notes", 100,
             [](const std::int64_t& n) { return n > 0 ? "" : "must be above 0"; })
    .declare("notes", "ratio", 0.5)
    .declare("notes", "archive", false)
    .declare("notes", "tags", std::vector<std::string>{"a", "b"})
    .declare("notes-index", "path", std::string("var/index"), {}, "where the index lives");
  return s;
}

std::string error_of(const std::string& toml) {
  try {
    parse_config(toml, "t.toml", notes_settings());
  } catch (const config_error& e) {
    return e.what();
  }
  return "no error";
}

std::string env_error(const std::vector<std::string>& env) {
  config cfg;
  cfg.app = notes_settings();
  try {
    apply_environment(cfg, env);
  } catch (const config_error& e) {
    return e.what();
  }
  return "no error";
}

std::string declare_error(const std::function<void(app_settings&)>& declare) {
  auto s = notes_settings();
  try {
    declare(s);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(app_settings, defaults_are_readable_without_a_file) {
  auto cfg = parse_config("", "t.toml", notes_settings());
  EXPECT_EQ(cfg.app.get<std::string>("notes", "greeting"), "hello");
  EXPECT_EQ(cfg.app.get<std::int64_t>("notes", "max_notes"), 100);
  EXPECT_DOUBLE_EQ(cfg.app.get<double>("notes", "ratio"), 0.5);
  EXPECT_FALSE(cfg.app.get<bool>("notes", "archive"));
  EXPECT_EQ(cfg.app.get<std::vector<std::string>>("notes", "tags"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(cfg.app.get<std::string>("notes-index", "path"), "var/index");
  // No file at all: the declarations themselves hold the defaults.
  config plain;
  plain.app = notes_settings();
  EXPECT_EQ(plain.app.get<std::string>("notes", "greeting"), "hello");
  EXPECT_EQ(plain.app.settings().back().help, "where the index lives");
}

TEST(app_settings, file_values_are_read_beside_troupes_own) {
  auto cfg = parse_config(R"([server]
port = 0
[notes]
greeting = "hi"
max_notes = 5000000000
ratio = 2
archive = true
tags = []
["notes-index"]
path = "/srv/index"
)",
                          "t.toml", notes_settings());
  EXPECT_EQ(cfg.server.port, 0);
  EXPECT_EQ(cfg.app.get<std::string>("notes", "greeting"), "hi");
  EXPECT_EQ(cfg.app.get<std::int64_t>("notes", "max_notes"), 5000000000);  // beyond an int
  EXPECT_DOUBLE_EQ(cfg.app.get<double>("notes", "ratio"), 2.0);             // an integer is a number
  EXPECT_TRUE(cfg.app.get<bool>("notes", "archive"));
  EXPECT_TRUE(cfg.app.get<std::vector<std::string>>("notes", "tags").empty());
  EXPECT_EQ(cfg.app.get<std::string>("notes-index", "path"), "/srv/index");
}

TEST(app_settings, load_config_takes_the_declarations_too) {
  auto path = testing::TempDir() + "app_settings_notes.toml";
  std::ofstream(path) << "[notes]\ngreeting = \"from a file\"\n";
  auto cfg = load_config(path, notes_settings());
  EXPECT_EQ(cfg.app.get<std::string>("notes", "greeting"), "from a file");
  EXPECT_EQ(cfg.app.get<std::int64_t>("notes", "max_notes"), 100);
  std::ofstream(path) << "[notes]\n\ngretting = \"from a file\"\n";
  try {
    load_config(path, notes_settings());
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()), path + ":3:1: [notes] gretting: unknown key (did you mean 'greeting'?)");
  }
  std::remove(path.c_str());
}

TEST(app_settings, the_environment_overrides_declared_keys) {
  auto cfg = parse_config("[notes]\ngreeting = \"from the file\"\n", "t.toml", notes_settings());
  apply_environment(cfg, {"TROUPE_NOTES_GREETING=hi", "TROUPE_NOTES_MAX_NOTES=7", "TROUPE_NOTES_TAGS=x, y",
                          "TROUPE_NOTES_ARCHIVE=true", "TROUPE_SERVER_PORT=50052"});
  EXPECT_EQ(cfg.app.get<std::string>("notes", "greeting"), "hi");
  EXPECT_EQ(cfg.app.get<std::int64_t>("notes", "max_notes"), 7);
  EXPECT_EQ(cfg.app.get<std::vector<std::string>>("notes", "tags"), (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(cfg.app.get<bool>("notes", "archive"));
  EXPECT_EQ(cfg.server.port, 50052);
}

TEST(app_settings, environment_mistakes_are_one_line_naming_the_variable) {
  EXPECT_EQ(env_error({"TROUPE_NOTES_MAX_NOTES=many"}),
            "TROUPE_NOTES_MAX_NOTES: [notes] max_notes: expected an integer (got 'many')");
  EXPECT_EQ(env_error({"TROUPE_NOTES_MAX_NOTES=0"}),
            "TROUPE_NOTES_MAX_NOTES: [notes] max_notes: must be above 0 (got '0')");
  EXPECT_EQ(env_error({"TROUPE_NOTES_GRETING=hi"}),
            "TROUPE_NOTES_GRETING: unknown configuration variable (did you mean 'TROUPE_NOTES_GREETING'?)");
  // Without the declarations [notes] is nobody's section: left alone.
  config plain;
  apply_environment(plain, {"TROUPE_NOTES_GRETING=hi"});
  EXPECT_EQ(to_toml(plain), to_toml(config{}));
}

TEST(app_settings, flags_set_declared_keys_through_set_value) {
  auto cfg = parse_config("[notes]\ngreeting = \"from the file\"\n", "t.toml", notes_settings());
  set_value(cfg, "notes", "greeting", "hi", "--greeting");
  set_value(cfg, "notes", "ratio", "0.25", "--ratio");
  EXPECT_EQ(cfg.app.get<std::string>("notes", "greeting"), "hi");
  EXPECT_DOUBLE_EQ(cfg.app.get<double>("notes", "ratio"), 0.25);
  try {
    set_value(cfg, "notes", "max_notes", "-1", "--max-notes");
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()), "--max-notes: [notes] max_notes: must be above 0 (got '-1')");
  }
  EXPECT_EQ(cfg.app.get<std::int64_t>("notes", "max_notes"), 100);  // unchanged by the refused value
  EXPECT_THROW(set_value(cfg, "notes", "nope", "1", "--nope"), std::logic_error);
}

TEST(app_settings, unknown_keys_and_sections_name_line_and_suggest) {
  EXPECT_EQ(error_of("[server]\nport = 1\n[notes]\ngretting = \"hi\"\n"),
            "t.toml:4:1: [notes] gretting: unknown key (did you mean 'greeting'?)");
  EXPECT_EQ(error_of("[ntoes]\ngreeting = \"hi\"\n"), "t.toml:1:1: [ntoes]: unknown section (did you mean 'notes'?)");
  EXPECT_EQ(error_of("[servr]\n"), "t.toml:1:1: [servr]: unknown section (did you mean 'server'?)");
  EXPECT_EQ(error_of("[notes]\nzzzzzzzz = 1\n"), "t.toml:2:1: [notes] zzzzzzzz: unknown key");
  // Undeclared, [notes] is an unknown section as before.
  try {
    parse_config("[notes]\ngreeting = \"hi\"\n", "t.toml");
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()), "t.toml:1:1: [notes]: unknown section");
  }
}

TEST(app_settings, wrong_types_are_errors) {
  EXPECT_EQ(error_of("[notes]\ngreeting = 3\n"), "t.toml:2:12: [notes] greeting: expected a string");
  EXPECT_EQ(error_of("[notes]\nmax_notes = 1.5\n"), "t.toml:2:13: [notes] max_notes: expected an integer");
  EXPECT_EQ(error_of("[notes]\nratio = \"x\"\n"), "t.toml:2:9: [notes] ratio: expected a number");
  EXPECT_EQ(error_of("[notes]\narchive = 1\n"), "t.toml:2:11: [notes] archive: expected a boolean");
  EXPECT_EQ(error_of("[notes]\ntags = [1]\n"), "t.toml:2:8: [notes] tags: expected an array of strings");
  EXPECT_EQ(error_of("notes = 1\n"), "t.toml:1:9: notes: expected a table [notes]");
}

TEST(app_settings, a_failing_check_is_its_text) {
  EXPECT_EQ(error_of("[notes]\nmax_notes = 0\n"), "t.toml:2:13: [notes] max_notes: must be above 0");
  EXPECT_EQ(error_of("[notes]\nmax_notes = 1\n"), "no error");
}

TEST(app_settings, declarations_that_cannot_work_are_refused) {
  EXPECT_EQ(declare_error([](app_settings& s) { s.declare("server", "greeting", "x"); }),
            "app_settings::declare: [server] is Troupe's own section [server]");
  EXPECT_EQ(declare_error([](app_settings& s) { s.declare("Database", "x", 1); }),
            "app_settings::declare: [Database] is Troupe's own section [database]");
  EXPECT_EQ(declare_error([](app_settings& s) { s.declare("my notes", "x", 1); }),
            "app_settings::declare: [my notes]: a section name is a TOML bare key (A-Z a-z 0-9 _ -)");
  EXPECT_EQ(declare_error([](app_settings& s) { s.declare("", "x", 1); }),
            "app_settings::declare: []: a section name is a TOML bare key (A-Z a-z 0-9 _ -)");
  EXPECT_EQ(declare_error([](app_settings& s) { s.declare("notes", "a.b", 1); }),
            "app_settings::declare: [notes] a.b: a key name is a TOML bare key (A-Z a-z 0-9 _ -)");
  EXPECT_EQ(declare_error([](app_settings& s) { s.declare("notes", "greeting", 1); }),
            "app_settings::declare: [notes] greeting: declared twice");
  EXPECT_EQ(declare_error([](app_settings& s) { s.declare("Notes", "x", 1); }),
            "app_settings::declare: [Notes]: differs from the declared [notes] only in case");
  // Both would be TROUPE_SERVER_MAX_INFLIGHT / TROUPE_NOTES_MAX_NOTES.
  EXPECT_EQ(declare_error([](app_settings& s) { s.declare("server_max", "inflight", 1); }),
            "app_settings::declare: [server_max] inflight: its variable TROUPE_SERVER_MAX_INFLIGHT is "
            "already [server] max_inflight's");
  EXPECT_EQ(declare_error([](app_settings& s) { s.declare("notes", "MAX_NOTES", 1); }),
            "app_settings::declare: [notes] MAX_NOTES: its variable TROUPE_NOTES_MAX_NOTES is "
            "already [notes] max_notes's");
  EXPECT_EQ(declare_error([](app_settings& s) {
              s.declare("notes", "limit", 0, [](std::int64_t n) { return n > 0 ? "" : "must be above 0"; });
            }),
            "app_settings::declare: [notes] limit: the default fails its check: must be above 0");
  EXPECT_EQ(declare_error([](app_settings& s) { s.declare("notes_extra", "x", 1); }), "no error");
}

TEST(app_settings, a_section_whose_name_starts_like_another_gets_its_own_variables) {
  auto declared = notes_settings();
  declared.declare("server_extra", "port", 1);
  config cfg;
  cfg.app = declared;
  apply_environment(cfg, {"TROUPE_SERVER_EXTRA_PORT=9", "TROUPE_SERVER_PORT=50052"});
  EXPECT_EQ(cfg.app.get<std::int64_t>("server_extra", "port"), 9);
  EXPECT_EQ(cfg.server.port, 50052);
  try {
    apply_environment(cfg, {"TROUPE_SERVER_EXTRA_PROT=9"});
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "TROUPE_SERVER_EXTRA_PROT: unknown configuration variable (did you mean 'TROUPE_SERVER_EXTRA_PORT'?)");
  }
}

TEST(app_settings, to_toml_prints_declared_sections_after_troupes_and_reads_back) {
  auto cfg = parse_config("[notes]\ngreeting = \"hi \\\"there\\\"\"\nmax_notes = 5000000000\ntags = [\"x\"]\n",
                          "t.toml", notes_settings());
  auto printed = to_toml(cfg);
  auto tls = printed.find("[tls]");
  auto notes = printed.find("[notes]");
  auto index = printed.find("[notes-index]");
  ASSERT_NE(tls, std::string::npos) << printed;
  ASSERT_NE(notes, std::string::npos) << printed;
  ASSERT_NE(index, std::string::npos) << printed;
  EXPECT_LT(tls, notes) << printed;
  EXPECT_LT(notes, index) << printed;  // in declaration order
  for (auto key : {"greeting", "max_notes", "ratio", "archive", "tags"})
    EXPECT_NE(printed.find(std::string("\n") + key + " = ", notes), std::string::npos) << key << "\n" << printed;

  auto again = parse_config(printed, "printed", notes_settings());
  EXPECT_EQ(to_toml(again), printed);
  EXPECT_EQ(again.app.get<std::string>("notes", "greeting"), "hi \"there\"");
  EXPECT_EQ(again.app.get<std::int64_t>("notes", "max_notes"), 5000000000);
  EXPECT_DOUBLE_EQ(again.app.get<double>("notes", "ratio"), 0.5);
  EXPECT_FALSE(again.app.get<bool>("notes", "archive"));
  EXPECT_EQ(again.app.get<std::vector<std::string>>("notes", "tags"), std::vector<std::string>{"x"});
  EXPECT_EQ(again.app.get<std::string>("notes-index", "path"), "var/index");
}

TEST(app_settings, without_declarations_nothing_is_printed_for_them) {
  EXPECT_EQ(to_toml(parse_config("", "t.toml", app_settings{})), to_toml(config{}));
  EXPECT_EQ(to_toml(config{}).find("[notes]"), std::string::npos);
}

TEST(app_settings, get_with_the_wrong_type_or_an_undeclared_key_throws) {
  auto cfg = parse_config("", "t.toml", notes_settings());
  try {
    cfg.app.get<bool>("notes", "greeting");
    FAIL() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_EQ(std::string(e.what()), "app_settings::get: [notes] greeting is a string, not a boolean");
  }
  try {
    cfg.app.get<std::string>("notes", "max_notes");
    FAIL() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_EQ(std::string(e.what()), "app_settings::get: [notes] max_notes is an integer, not a string");
  }
  try {
    cfg.app.get<std::string>("notes", "nope");
    FAIL() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_EQ(std::string(e.what()), "app_settings::get: [notes] nope was not declared");
  }
  EXPECT_THROW(cfg.app.get<std::string>("server", "host"), std::logic_error);  // Troupe's: cfg.server.host
}

}  // namespace
}  // namespace troupe::test
