// The connection API and error mapping, the same on every backend.
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

#include "support.hpp"

namespace troupe::db::testing {
namespace {

using user_row = std::tuple<std::string, std::optional<int64_t>, double, bool, blob>;

class connection_test : public backend_test {};

int64_t count_users(connection& c) {
  return std::get<0>(c.fetch_one<int64_t>("no count", "SELECT count(*) FROM users"));
}

TEST_P(connection_test, crud_with_typed_results) {
  auto p = start(config());
  EXPECT_EQ(p.kind(), kind());
  blob avatar{std::byte{0}, std::byte{0xff}, std::byte{'\\'}, std::byte{'x'}};

  auto inserted = submit(p, [&](connection& c) {
    return c.exec("INSERT INTO users (id, email, age, score, active, avatar) VALUES (?, ?, ?, ?, ?, ?)", 1,
                  std::string("ada@example.org"), std::optional<int64_t>(), 2.5, true, avatar);
  });
  ASSERT_TRUE(inserted) << to_string(inserted.error());
  EXPECT_EQ(*inserted, 1);

  auto read = submit(p, [](connection& c) {
    return c.query_one<std::string, std::optional<int64_t>, double, bool, blob>(
      "SELECT email, age, score, active, avatar FROM users WHERE id = ?", 1);
  });
  ASSERT_TRUE(read) << to_string(read.error());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(**read, user_row("ada@example.org", std::nullopt, 2.5, true, avatar));

  auto updated = submit(p, [](connection& c) {
    return c.exec("UPDATE users SET age = ?, email = ? WHERE id = ?", 36, "ada@lovelace.org", 1);
  });
  ASSERT_TRUE(updated);
  EXPECT_EQ(*updated, 1);

  auto age = submit(p, [](connection& c) {
    return c.fetch_one<int, std::string>("no user", "SELECT age, email FROM users WHERE id = ?", 1);
  });
  ASSERT_TRUE(age) << to_string(age.error());
  EXPECT_EQ(*age, std::make_tuple(36, std::string("ada@lovelace.org")));

  auto returned = submit(p, [](connection& c) {
    return c.fetch_one<int64_t, int>("no user", "UPDATE users SET age = age + 1 WHERE id = ? RETURNING id, age", 1);
  });
  ASSERT_TRUE(returned) << to_string(returned.error());
  EXPECT_EQ(*returned, std::make_tuple(int64_t{1}, 37));

  auto deleted = submit(p, [](connection& c) { return c.exec("DELETE FROM users WHERE id = ?", 1); });
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 1);
  auto none = submit(p, [](connection& c) { return c.query_one<int64_t>("SELECT id FROM users WHERE id = ?", 1); });
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST_P(connection_test, cursor_visits_every_row_in_order) {
  auto p = start(config());
  auto sum = submit(p, [](connection& c) {
    c.transaction([&] {
      for (int i = 1; i <= 500; ++i)
        c.exec("INSERT INTO users (id, email, age) VALUES (?, ?, ?)", i, "u" + std::to_string(i) + "@x", i % 90);
    });
    int64_t total = 0;
    int64_t last = 0;
    c.query("SELECT id, email FROM users WHERE id > ? ORDER BY id", 0, [&](const row& r) {
      auto [id, email] = r.as<int64_t, std::string>();
      if (id != last + 1 || email != "u" + std::to_string(id) + "@x")
        throw std::runtime_error("row out of order");
      last = id;
      total += id;
    });
    return total;
  });
  ASSERT_TRUE(sum) << to_string(sum.error());
  EXPECT_EQ(*sum, 500 * 501 / 2);
}

TEST_P(connection_test, question_marks_in_literals_are_not_placeholders) {
  auto p = start(config());
  auto r = submit(p, [](connection& c) {
    return c.fetch_one<std::string, int64_t>("no row", "SELECT 'why?' /* ? */, 1 + ? -- ?\n", 6);
  });
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(*r, std::make_tuple(std::string("why?"), int64_t{7}));
}

TEST_P(connection_test, unique_violation_is_already_exists) {
  auto p = start(config());
  auto add = [](int64_t id, std::string email) {
    return [id, email](connection& c) { c.exec("INSERT INTO users (id, email) VALUES (?, ?)", id, email); };
  };
  ASSERT_TRUE(submit(p, add(1, "a@x")));
  auto same_email = submit(p, add(2, "a@x"));
  ASSERT_FALSE(same_email);
  EXPECT_EQ(same_email.error().code, errc::already_exists) << to_string(same_email.error());
  auto same_id = submit(p, add(1, "b@x"));
  ASSERT_FALSE(same_id);
  EXPECT_EQ(same_id.error().code, errc::already_exists) << to_string(same_id.error());
}

TEST_P(connection_test, check_foreign_key_and_not_null_violations_are_constraint) {
  auto p = start(config());
  for (auto sql : {"INSERT INTO users (id, email, age) VALUES (1, 'a@x', -1)",
                   "INSERT INTO posts (id, user_id, body) VALUES (1, 42, 'orphan')",
                   "INSERT INTO users (id, email) VALUES (2, NULL)"}) {
    auto r = submit(p, [sql](connection& c) { c.exec(sql); });
    ASSERT_FALSE(r) << sql;
    EXPECT_EQ(r.error().code, errc::constraint) << sql << ": " << to_string(r.error());
  }
}

TEST_P(connection_test, missing_row_is_not_found) {
  auto p = start(config());
  auto r = submit(p, [](connection& c) {
    return c.fetch_one<std::string>("no user 42", "SELECT email FROM users WHERE id = ?", 42);
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
  EXPECT_EQ(r.error().message, "no user 42");
}

TEST_P(connection_test, bad_sql_and_bad_reads_are_internal) {
  auto p = start(config());
  auto syntax = submit(p, [](connection& c) { c.exec("SELEKT 1"); });
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.error().code, errc::internal);
  auto null_read = submit(p, [](connection& c) { return c.query_one<int64_t>("SELECT NULL"); });
  ASSERT_FALSE(null_read);
  EXPECT_EQ(null_read.error().code, errc::internal);
  auto arity = submit(p, [](connection& c) { c.exec("SELECT 1 + ?, 2 + ?", 1); });
  ASSERT_FALSE(arity);
  EXPECT_EQ(arity.error().code, errc::internal);
  auto nested = submit(p, [](connection& c) {
    c.query("SELECT 1", [&](const row&) { c.exec("SELECT 2"); });
  });
  ASSERT_FALSE(nested);
  EXPECT_EQ(nested.error().code, errc::internal) << to_string(nested.error());
  // The connection is still usable afterwards.
  auto after = submit(p, [](connection& c) { return c.fetch_one<int64_t>("none", "SELECT 1 + ?", 1); });
  ASSERT_TRUE(after) << to_string(after.error());
}

TEST_P(connection_test, transaction_commits_on_return_and_rolls_back_on_exception) {
  auto p = start(config(1));
  auto failed = submit(p, [](connection& c) {
    c.transaction([&] {
      c.exec("INSERT INTO users (id, email) VALUES (1, 'a@x')");
      c.exec("INSERT INTO users (id, email) VALUES (2, 'b@x')");
      throw failure(errc::invalid_argument, "changed my mind");
    });
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, errc::invalid_argument);
  EXPECT_EQ(failed.error().message, "changed my mind");

  // A failing statement inside the transaction undoes the ones before it.
  auto duplicate = submit(p, [](connection& c) {
    c.transaction([&] {
      c.exec("INSERT INTO users (id, email) VALUES (3, 'c@x')");
      c.exec("INSERT INTO users (id, email) VALUES (4, 'c@x')");
    });
  });
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code, errc::already_exists);
  auto none = submit(p, count_users);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0);

  auto committed = submit(p, [](connection& c) {
    return c.transaction([&] {
      c.exec("INSERT INTO users (id, email) VALUES (5, 'e@x')");
      return c.transaction([&] { return c.exec("INSERT INTO users (id, email) VALUES (6, 'f@x')"); });
    });
  });
  ASSERT_TRUE(committed) << to_string(committed.error());
  auto two = submit(p, count_users);
  ASSERT_TRUE(two);
  EXPECT_EQ(*two, 2);
}

TEST_P(connection_test, a_transaction_left_open_by_a_job_is_rolled_back) {
  auto p = start(config(1));
  auto r = submit(p, [](connection& c) {
    c.exec(c.kind() == backend::sqlite ? "BEGIN" : "START TRANSACTION");
    c.exec("INSERT INTO users (id, email) VALUES (1, 'a@x')");
    throw std::runtime_error("forgot to commit");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::internal);
  EXPECT_EQ(r.error().message, "forgot to commit");
  auto none = submit(p, count_users);
  ASSERT_TRUE(none) << to_string(none.error());
  EXPECT_EQ(*none, 0);
}

TEST_P(connection_test, migrations_apply_once_in_order) {
  { auto p = start(config()); }
  // Again, plus one: only version 3 runs (versions 1 and 2 would fail if re-run).
  auto more = schema();
  more.push_back({3, "ALTER TABLE users ADD COLUMN nickname TEXT"});
  auto p = start(config(), more);
  auto versions = submit(p, [](connection& c) {
    std::vector<int64_t> v;
    c.query("SELECT version FROM schema_migrations ORDER BY version", [&](const row& r) { v.push_back(r.get<int64_t>(0)); });
    return v;
  });
  ASSERT_TRUE(versions) << to_string(versions.error());
  EXPECT_EQ(*versions, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_TRUE(submit(p, [](connection& c) { c.exec("UPDATE users SET nickname = ?", "x"); }));
}

TEST_P(connection_test, a_failing_migration_leaves_no_trace) {
  auto broken = schema();
  broken.push_back({3, "CREATE TABLE tags (id BIGINT PRIMARY KEY); CREATE TABLE oops (;"});
  try {
    start(config(), broken);
    FAIL() << "the broken migration was accepted";
  } catch (const failure& f) {
    EXPECT_NE(std::string(f.what()).find("migration 3"), std::string::npos) << f.what();
  }
  auto p = start(config());
  auto tags = submit(p, [](connection& c) { c.exec("SELECT count(*) FROM tags"); });
  ASSERT_FALSE(tags) << "table tags of the failed migration exists";
  auto latest = submit(p, [](connection& c) {
    return c.fetch_one<int64_t>("none", "SELECT max(version) FROM schema_migrations");
  });
  ASSERT_TRUE(latest);
  EXPECT_EQ(std::get<0>(*latest), 2);
}

INSTANTIATE_TEST_SUITE_P(backends, connection_test, ::testing::Values(backend::sqlite, backend::postgresql),
                         backend_name);

}  // namespace
}  // namespace troupe::db::testing
