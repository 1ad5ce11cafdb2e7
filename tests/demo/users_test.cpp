// demo.v1.UserService: validation, NOT_FOUND / ALREADY_EXISTS, streaming in
// id order, a 100,000-row stream to a slow client in flat memory, a stream of
// 1 MiB rows in bounded memory, and keys where the server checks them.
#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

#include "demo_fixture.hpp"

namespace troupe::test {
namespace {

using demo::v1::User;
using troupe::db::backend;
using namespace std::chrono_literals;

grpc::StatusCode create_status(demo::v1::UserService::Stub& stub, const std::string& name,
                               const std::string& email) {
  grpc::ClientContext ctx;
  demo::v1::CreateUserRequest req;
  req.set_name(name);
  req.set_email(email);
  User user;
  return stub.CreateUser(&ctx, req, &user).error_code();
}

std::vector<User> stream_users(demo::v1::UserService::Stub& stub, int limit, grpc::Status* st,
                               const std::string& key = "") {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + troupe::db::testing::patience);
  if (!key.empty())
    ctx.AddMetadata("x-api-key", key);
  demo::v1::StreamUsersRequest req;
  req.set_limit(limit);
  auto reader = stub.StreamUsers(&ctx, req);
  std::vector<User> users;
  for (User u; reader->Read(&u);)
    users.push_back(u);
  *st = reader->Finish();
  return users;
}

using users = demo_app;

TEST_P(users, create_then_get) {
  User created = create_user("Ada", "ada@example.org");
  EXPECT_GT(created.id(), 0);
  EXPECT_EQ(created.name(), "Ada");
  EXPECT_EQ(created.email(), "ada@example.org");
  User other = create_user("Bob", "bob@example.org");
  EXPECT_GT(other.id(), created.id());

  grpc::ClientContext ctx;
  bound(ctx);
  demo::v1::GetUserRequest req;
  req.set_user_id(created.id());
  User got;
  ASSERT_TRUE(users_->GetUser(&ctx, req, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), created.SerializeAsString());

  // The sync handler reads the same row.
  grpc::ClientContext sync_ctx;
  bound(sync_ctx);
  User got_sync;
  ASSERT_TRUE(users_->GetUserSync(&sync_ctx, req, &got_sync).ok());
  EXPECT_EQ(got_sync.SerializeAsString(), created.SerializeAsString());
}

TEST_P(users, missing_user_is_not_found) {
  grpc::ClientContext ctx;
  bound(ctx);
  demo::v1::GetUserRequest req;
  req.set_user_id(4242);
  User got;
  auto st = users_->GetUser(&ctx, req, &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("4242"), std::string::npos) << st.error_message();

  grpc::ClientContext sync_ctx;
  bound(sync_ctx);
  auto sync_st = users_->GetUserSync(&sync_ctx, req, &got);
  EXPECT_EQ(sync_st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(sync_st.error_message(), st.error_message());
}

TEST_P(users, duplicate_email_already_exists_and_takes_no_id) {
  User first = create_user("Ada", "ada@example.org");
  EXPECT_EQ(create_status(*users_, "Other Ada", "ada@example.org"), grpc::StatusCode::ALREADY_EXISTS);
  // The failed insert rolled back its id too.
  EXPECT_EQ(create_user("Bob", "bob@example.org").id(), first.id() + 1);
  EXPECT_EQ(count("demo_users"), 2);
}

TEST_P(users, bad_name_or_email_is_invalid_argument) {
  EXPECT_EQ(create_status(*users_, "", "a@b"), grpc::StatusCode::INVALID_ARGUMENT);
  for (std::string email : {"", "ab", "@b", "a@", "a@b@c", "@"})
    EXPECT_EQ(create_status(*users_, "Ada", email), grpc::StatusCode::INVALID_ARGUMENT) << email;
  EXPECT_EQ(count("demo_users"), 0);
  EXPECT_EQ(create_status(*users_, "Ada", "a@b"), grpc::StatusCode::OK);
}

TEST_P(users, stream_in_id_order_with_limit) {
  for (int i = 0; i < 5; ++i)
    create_user("user" + std::to_string(i), "u" + std::to_string(i) + "@example.org");
  grpc::Status st;
  auto all = stream_users(*users_, 0, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(all.size(), 5u);
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(all[i].name(), "user" + std::to_string(i));
  for (size_t i = 1; i < all.size(); ++i)
    EXPECT_LT(all[i - 1].id(), all[i].id());

  auto some = stream_users(*users_, 3, &st);
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(some.size(), 3u);
  EXPECT_EQ(some.back().id(), all[2].id());

  stream_users(*users_, -1, &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_P(users, empty_table_streams_nothing) {
  grpc::Status st;
  EXPECT_TRUE(stream_users(*users_, 0, &st).empty());
  EXPECT_TRUE(st.ok()) << st.error_message();
}

// 100,000 users of ~300 bytes (about 30 MB) to a client that reads in bursts
// with pauses: the server holds a page and the write window, never the table.
TEST_P(users, large_stream_to_slow_client_keeps_memory_flat) {
  constexpr int64_t rows = 100'000;
  std::string name(300, 'n');
  auto inserted = submit(*pool_, [name, n = rows](troupe::db::connection& c) {
    return c.transaction([&] {
      int64_t added = c.exec("INSERT INTO demo_users (id, name, email)"
                         " WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)"
                         " SELECT i, CAST(? AS TEXT), 'user' || i || '@example.org' FROM seq",
                         n, name);
      c.exec("UPDATE demo_counters SET last_id = ? WHERE name = 'users'", n);
      return added;
    });
  });
  ASSERT_TRUE(inserted.ok()) << troupe::db::to_string(inserted.error());
  ASSERT_EQ(*inserted, rows);

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 60s);
  auto reader = users_->StreamUsers(&ctx, demo::v1::StreamUsersRequest{});
  User u;
  int64_t received = 0, last_id = 0;
  auto next = [&] {
    if (!reader->Read(&u))
      return false;
    EXPECT_EQ(u.id(), last_id + 1);
    last_id = u.id();
    ++received;
    return true;
  };
  // Warm up (first pages, channel buffers), then measure from there.
  for (int i = 0; i < 2000; ++i)
    ASSERT_TRUE(next());
  long baseline = rss_kib(), peak = baseline;
  while (next()) {
    if (received % 5000 == 0) {
      // The client stops reading a while: the server must wait for it.
      std::this_thread::sleep_for(20ms);
      peak = std::max(peak, rss_kib());
    }
  }
  auto st = reader->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(received, rows);
  RecordProperty("rss_growth_kib", std::to_string(peak - baseline));
#ifndef __SANITIZE_ADDRESS__
  EXPECT_LT(peak - baseline, 16 * 1024) << "RSS grew from " << baseline << " KiB to " << peak << " KiB";
#else
  // AddressSanitizer keeps freed memory in quarantine (256 MiB by default), so
  // RSS measures nothing here; the stream's correctness is still checked.
#endif
}

// 100 users of 1 MiB each to a client that takes one and then stops reading a
// while: a page ends at page_bytes (1 MiB) as well as at 256 rows, so the
// server holds a page and the write window, not the 100 MiB of the table.
TEST_P(users, stream_of_large_rows_holds_a_bounded_page) {
  constexpr int64_t rows = 100;
  std::string name(1024 * 1024, 'n');
  auto inserted = submit(*pool_, [name, n = rows](troupe::db::connection& c) {
    return c.exec("INSERT INTO demo_users (id, name, email)"
                  " WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)"
                  " SELECT i, CAST(? AS TEXT), 'user' || i || '@example.org' FROM seq",
                  n, name);
  });
  ASSERT_TRUE(inserted.ok()) << troupe::db::to_string(inserted.error());
  ASSERT_EQ(*inserted, rows);

  long baseline = rss_kib(), peak = baseline;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 60s);
  auto reader = users_->StreamUsers(&ctx, demo::v1::StreamUsersRequest{});
  User u;
  int64_t received = 0;
  auto next = [&] {
    if (!reader->Read(&u))
      return false;
    EXPECT_EQ(u.id(), received + 1);
    EXPECT_EQ(u.name().size(), name.size());
    ++received;
    peak = std::max(peak, rss_kib());
    return true;
  };
  ASSERT_TRUE(next());
  // The client stops reading: the server must wait for it, holding little.
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(25ms);
    peak = std::max(peak, rss_kib());
  }
  while (next()) {
  }
  auto st = reader->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(received, rows);
  RecordProperty("rss_growth_kib", std::to_string(peak - baseline));
#ifndef __SANITIZE_ADDRESS__
  // A page and the write window are 2 MiB; gRPC's buffers on both ends and
  // the allocator's slack take the rest.
  EXPECT_LT(peak - baseline, 48 * 1024) << "RSS grew from " << baseline << " KiB to " << peak << " KiB";
#endif
}

// With API keys checked, StreamUsers needs one as CreateUser and GetUser do:
// [auth] lets a call without a key through (require_auth off), the method
// refuses it.
class users_with_keys : public demo_app {
protected:
  users_with_keys() { keys_checked_ = true; }
};

TEST_P(users_with_keys, stream_without_a_key_is_unauthenticated) {
  auto inserted = submit(*pool_, [](troupe::db::connection& c) {
    return c.exec("INSERT INTO demo_users (id, name, email) VALUES (1, 'Ada', 'ada@example.org'),"
                  " (2, 'Bob', 'bob@example.org')");
  });
  ASSERT_TRUE(inserted.ok()) << troupe::db::to_string(inserted.error());
  grpc::Status st;
  auto anonymous = stream_users(*users_, 0, &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  EXPECT_TRUE(anonymous.empty()) << anonymous.size() << " users reached a caller without a key";

  auto keyed = stream_users(*users_, 0, &st, make_key("alice"));
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(keyed.size(), 2u);
  EXPECT_EQ(keyed[0].name(), "Ada");
  EXPECT_EQ(keyed[1].name(), "Bob");
}

TEST_P(users_with_keys, get_user_sync_needs_a_key_as_get_user_does) {
  auto inserted = submit(*pool_, [](troupe::db::connection& c) {
    return c.exec("INSERT INTO demo_users (id, name, email) VALUES (1, 'Ada', 'ada@example.org')");
  });
  ASSERT_TRUE(inserted.ok()) << troupe::db::to_string(inserted.error());
  demo::v1::GetUserRequest req;
  req.set_user_id(1);
  for (bool sync : {false, true}) {
    for (bool keyed : {false, true}) {
      grpc::ClientContext ctx;
      bound(ctx);
      if (keyed)
        ctx.AddMetadata("x-api-key", make_key(sync ? "bob" : "alice"));
      User got;
      auto st = sync ? users_->GetUserSync(&ctx, req, &got) : users_->GetUser(&ctx, req, &got);
      if (keyed) {
        ASSERT_TRUE(st.ok()) << sync << ": " << st.error_message();
        EXPECT_EQ(got.name(), "Ada");
      } else {
        EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << sync << ": " << st.error_message();
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(backends, users_with_keys, ::testing::Values(backend::sqlite, backend::postgresql),
                         troupe::db::testing::backend_name);

INSTANTIATE_TEST_SUITE_P(backends, users, ::testing::Values(backend::sqlite, backend::postgresql),
                         troupe::db::testing::backend_name);

}  // namespace
}  // namespace troupe::test
