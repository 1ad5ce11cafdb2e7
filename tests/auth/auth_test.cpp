// API-key auth through real channels, on SQLite and PostgreSQL: keys made by
// create_api_key (what `troupe apikey create` runs), checked by the transport
// before a call's actor exists.
#include <atomic>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>

#include <gtest/gtest.h>

#include <troupe/api_keys.hpp>
#include <troupe/server.hpp>

#include "db/support.hpp"
#include "demo/demo.hpp"
#include "demo/v1/users.grpc.pb.h"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using troupe::db::backend;
using namespace std::chrono_literals;

class auth : public troupe::db::testing::backend_test {
protected:
  void SetUp() override {
    backend_test::SetUp();
    if (IsSkipped())
      return;
    pool_.emplace(start(config(2, 64), key_schema()));
    cfg_.require_auth = true;
    cfg_.cache_ttl_s = 0.2;
    cfg_.max_failures = 5;
  }

  void TearDown() override {
    if (server_)
      server_->shutdown();
    server_.reset();
    if (checker_) {
      EXPECT_TRUE(checker_->flush(5s));
    }
    checker_.reset();
    // Else the actor system would wait for it forever.
    if (key_pool_)
      caf::anon_send_exit(key_pool_, caf::exit_reason::user_shutdown);
    pool_.reset();
    backend_test::TearDown();
  }

  std::vector<db::migration> key_schema() const {
    auto schema = api_key_migrations(url_);
    auto demo = services::demo_schema();
    schema.insert(schema.end(), demo.begin(), demo.end());
    return schema;
  }

  // Makes the checker's database jobs (key look-ups and usage writes) pass
  // through an actor that counts them on their way to the pool; before serve().
  void count_key_jobs() {
    // State as spawn arguments: CAF 0.17.6 trips UBSan starting a
    // zero-argument function actor.
    key_pool_ = sys().spawn(
      [](caf::event_based_actor* self, caf::actor pool, std::shared_ptr<std::atomic<int>> n) -> caf::behavior {
        return {[=](db::job& j) {
          ++*n;
          return self->delegate(pool, std::move(j));
        }};
      },
      pool_->actor(), key_jobs_);
  }

  // Serves bench.v1.Bench/Unary answering with the caller's name, the demo's
  // UserService, and health, with cfg_ as [auth].
  void serve() {
    checker_ = std::make_shared<api_key_checker>(sys(), key_pool_ ? key_pool_ : pool_->actor(), cfg_);
    server_ = std::make_unique<troupe::server>(sys(), local_config());
    server_->set_auth(cfg_, checker_);
    server_->set_request_log(request_log::all, [this](const call_record& r) {
      std::lock_guard<std::mutex> lk(records_mu_);
      users_logged_.push_back(r.user);
    });
    troupe::service whoami{"bench.v1.Bench"};
    whoami.unary<bench::v1::Payload, bench::v1::Payload>(
      "Unary", [this](troupe::call& c, const bench::v1::Payload&) -> result<bench::v1::Payload> {
        ++handled_;
        bench::v1::Payload p;
        p.set_data(c.user() ? c.user()->user : "anonymous");
        return p;
      });
    server_->add(whoami);
    server_->add(services::users_service(pool_->actor(), true));
    server_->start();
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
  }

  std::string make_key(const std::string& user, std::optional<wall_clock::time_point> expires = std::nullopt) {
    auto k = submit(*pool_, [=](db::connection& c) { return create_api_key(c, user, "test", expires); });
    EXPECT_TRUE(k.ok());
    return k.ok() ? k->key : "";
  }

  // Bench/Unary with `key` (none when empty): the status, and in `who` the
  // caller the handler saw.
  grpc::Status whoami(const std::string& key, std::string* who = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    if (!key.empty())
      ctx.AddMetadata("x-api-key", key);
    bench::v1::Payload req, resp;
    auto st = bench::v1::Bench::NewStub(channel_)->Unary(&ctx, req, &resp);
    if (who)
      *who = resp.data();
    return st;
  }

  // Bench/Unary with each of `keys` at once, on one connection: the statuses.
  std::vector<grpc::Status> whoami_all(const std::vector<std::string>& keys) {
    grpc::CompletionQueue cq;
    auto stub = bench::v1::Bench::NewStub(channel_);
    struct pending {
      grpc::ClientContext ctx;
      bench::v1::Payload resp;
      grpc::Status st;
      std::unique_ptr<grpc::ClientAsyncResponseReader<bench::v1::Payload>> rpc;
    };
    std::vector<pending> all(keys.size());
    bench::v1::Payload req;
    for (size_t i = 0; i < keys.size(); ++i) {
      all[i].ctx.set_deadline(std::chrono::system_clock::now() + 20s);
      all[i].ctx.AddMetadata("x-api-key", keys[i]);
      all[i].rpc = stub->AsyncUnary(&all[i].ctx, req, &cq);
      all[i].rpc->Finish(&all[i].resp, &all[i].st, &all[i]);
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      void* tag;
      bool ok;
      EXPECT_TRUE(cq.Next(&tag, &ok));
    }
    std::vector<grpc::Status> out;
    for (auto& p : all)
      out.push_back(p.st);
    return out;
  }

  std::optional<std::tuple<int64_t, std::optional<int64_t>>> usage_of(const std::string& key) {
    auto prefix = key.substr(0, 8);
    auto r = submit(*pool_, [prefix](db::connection& c) {
      return c.query_one<int64_t, std::optional<int64_t>>(
        "SELECT request_count, last_used_at_ms FROM api_keys WHERE prefix = ?", prefix);
    });
    return r.ok() ? *r : std::nullopt;
  }

  auth_config cfg_;
  std::optional<db::pool> pool_;
  caf::actor key_pool_;  // where the checker sends its jobs, when not pool_
  std::shared_ptr<std::atomic<int>> key_jobs_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<api_key_checker> checker_;
  std::unique_ptr<troupe::server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::atomic<int> handled_{0};
  std::mutex records_mu_;
  std::vector<std::string> users_logged_;
};

// A well-formed key no database holds: 64 hex digits made of `i`.
std::string unknown_key(unsigned i) {
  char digits[65];
  std::snprintf(digits, sizeof digits, "%064x", i);
  return digits;
}

std::map<grpc::StatusCode, int> tally(const std::vector<grpc::Status>& all) {
  std::map<grpc::StatusCode, int> n;
  for (auto& st : all)
    ++n[st.error_code()];
  return n;
}

TEST_P(auth, a_valid_key_reaches_the_handler_as_its_user) {
  serve();
  auto key = make_key("alice");
  std::string who;
  auto st = whoami(key, &who);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(who, "alice");
  // Cached now: the second call is decided without the database.
  ASSERT_TRUE(whoami(key, &who).ok());
  EXPECT_EQ(who, "alice");
  server_->shutdown();
  std::lock_guard<std::mutex> lk(records_mu_);
  EXPECT_EQ(users_logged_, (std::vector<std::string>{"alice", "alice"}));
}

TEST_P(auth, calls_without_a_valid_key_never_reach_their_handler) {
  serve();
  make_key("alice");
  auto expired = make_key("carol", wall_clock::now() - 1s);
  auto unknown = std::string(64, 'a');
  struct attempt {
    std::string key;
    const char* why;
  };
  for (auto& a : {attempt{"", "missing API key"}, attempt{unknown, "invalid API key"},
                  attempt{"not-a-key", "invalid API key"}, attempt{expired, "has expired"}}) {
    auto st = whoami(a.key);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << a.key;
    EXPECT_NE(st.error_message().find(a.why), std::string::npos) << st.error_message();
  }
  EXPECT_EQ(handled_.load(), 0);
}

TEST_P(auth, a_revoked_key_is_refused_within_the_cache_ttl) {
  serve();
  auto key = make_key("bob");
  ASSERT_TRUE(whoami(key).ok());
  auto revoked = submit(*pool_, [p = key.substr(0, 8)](db::connection& c) { return revoke_api_key(c, p); });
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(*revoked, "bob");
  auto revoked_at = std::chrono::steady_clock::now();
  grpc::Status st;
  EXPECT_TRUE(wait_until([&] {
    st = whoami(key);
    return st.error_code() == grpc::StatusCode::UNAUTHENTICATED;
  }, 5s));
  EXPECT_NE(st.error_message().find("revoked"), std::string::npos) << st.error_message();
  // cache_ttl_s 0.2, plus a call's round trip on a busy machine.
  EXPECT_LT(std::chrono::steady_clock::now() - revoked_at, 2s);
}

TEST_P(auth, public_methods_pass_without_a_key) {
  serve();
  bool serving = false;
  auto st = health_check(channel_, "", &serving);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(serving);
}

TEST_P(auth, usage_counts_reach_the_table_in_batches) {
  serve();
  auto key = make_key("alice");
  constexpr int calls = 7;
  for (int i = 0; i < calls; ++i)
    ASSERT_TRUE(whoami(key).ok());
  std::optional<std::tuple<int64_t, std::optional<int64_t>>> usage;
  EXPECT_TRUE(wait_until([&] {
    usage = usage_of(key);
    return usage && std::get<0>(*usage) == calls;
  }, 5s)) << (usage ? std::get<0>(*usage) : -1);
  ASSERT_TRUE(usage && std::get<1>(*usage));
}

TEST_P(auth, a_burst_with_a_new_key_is_checked_once_and_counted_in_full) {
  cfg_.cache_ttl_s = 30;
  serve();
  auto key = make_key("alice");
  constexpr int calls = 50;
  grpc::CompletionQueue cq;
  auto stub = bench::v1::Bench::NewStub(channel_);
  struct pending {
    grpc::ClientContext ctx;
    bench::v1::Payload resp;
    grpc::Status st;
    std::unique_ptr<grpc::ClientAsyncResponseReader<bench::v1::Payload>> rpc;
  };
  std::vector<pending> all(calls);
  bench::v1::Payload req;
  for (auto& p : all) {
    p.ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    p.ctx.AddMetadata("x-api-key", key);
    p.rpc = stub->AsyncUnary(&p.ctx, req, &cq);
    p.rpc->Finish(&p.resp, &p.st, &p);
  }
  for (int i = 0; i < calls; ++i) {
    void* tag;
    bool ok;
    ASSERT_TRUE(cq.Next(&tag, &ok));
    auto* p = static_cast<pending*>(tag);
    EXPECT_TRUE(p->st.ok()) << p->st.error_message();
    EXPECT_EQ(p->resp.data(), "alice");
  }
  server_->shutdown();
  ASSERT_TRUE(checker_->flush(5s));
  checker_.reset();
  auto usage = usage_of(key);
  ASSERT_TRUE(usage);
  EXPECT_EQ(std::get<0>(*usage), calls);
}

TEST_P(auth, guessing_keys_gets_unknown_keys_from_the_address_rate_limited) {
  // Long enough for the guesses on a busy machine, short enough to wait out.
  cfg_.failure_window_s = 4;
  serve();
  for (int i = 0; i < cfg_.max_failures; ++i)
    EXPECT_EQ(whoami(unknown_key(i)).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto st = whoami(unknown_key(99));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("retry in"), std::string::npos) << st.error_message();
  // A key this server has never seen valid cannot be told from a guess
  // without a look-up: it waits for the window like any unknown key...
  auto fresh = make_key("alice");
  EXPECT_EQ(whoami(fresh).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(handled_.load(), 0);
  // ... and is served once the window is over.
  EXPECT_TRUE(wait_until([&] { return whoami(fresh).ok(); }, 15s));
  EXPECT_EQ(handled_.load(), 1);
}

TEST_P(auth, a_cached_valid_key_is_served_whatever_its_address_sent) {
  cfg_.cache_ttl_s = 30;
  serve();
  auto key = make_key("alice");
  ASSERT_TRUE(whoami(key).ok());
  for (int i = 0; i < 12; ++i)
    whoami(unknown_key(i));
  ASSERT_EQ(whoami(unknown_key(99)).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  std::string who;
  auto st = whoami(key, &who);
  EXPECT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  EXPECT_EQ(who, "alice");
}

TEST_P(auth, a_valid_key_due_for_its_look_up_is_served_whatever_its_address_sent) {
  cfg_.cache_ttl_s = 0;  // every call looks its key up again
  serve();
  auto key = make_key("alice");
  ASSERT_TRUE(whoami(key).ok());
  for (int i = 0; i < 12; ++i)
    whoami(unknown_key(i));
  ASSERT_EQ(whoami(unknown_key(99)).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  for (int i = 0; i < 3; ++i) {
    auto st = whoami(key);
    EXPECT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  }
  // Served because it was valid at its last look-up, not for good: revoked,
  // it is refused, and then it is an unknown key like the guesses.
  ASSERT_TRUE(submit(*pool_, [p = key.substr(0, 8)](db::connection& c) { return revoke_api_key(c, p); }).ok());
  auto st = whoami(key);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(st.error_message().find("revoked"), std::string::npos) << st.error_message();
  EXPECT_EQ(whoami(key).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(handled_.load(), 4);
}

TEST_P(auth, concurrent_guesses_cost_at_most_max_failures_look_ups) {
  count_key_jobs();
  serve();
  std::vector<std::string> guesses;
  for (unsigned i = 0; i < 100; ++i)
    guesses.push_back(unknown_key(i));
  auto n = tally(whoami_all(guesses));
  EXPECT_EQ(n[grpc::StatusCode::UNAUTHENTICATED], cfg_.max_failures);
  EXPECT_EQ(n[grpc::StatusCode::RESOURCE_EXHAUSTED], 100 - cfg_.max_failures);
  EXPECT_EQ(key_jobs_->load(), cfg_.max_failures) << "database jobs for 100 concurrent guesses";
  EXPECT_EQ(handled_.load(), 0);
}

TEST_P(auth, a_flood_of_random_keys_leaves_the_database_to_the_application) {
  // One worker and eight queue places: the look-ups of a flood would take them.
  pool_.reset();
  pool_.emplace(start(config(1, 8), key_schema()));
  cfg_.cache_ttl_s = 30;
  serve();
  auto key = make_key("alice");
  ASSERT_TRUE(whoami(key).ok());
  std::vector<std::string> flood;
  for (unsigned i = 0; i < 300; ++i)
    flood.push_back(unknown_key(i));
  auto flooded = std::async(std::launch::async, [&] { return tally(whoami_all(flood)); });
  auto users = demo::v1::UserService::NewStub(channel_);
  int created = 0;
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    ctx.AddMetadata("x-api-key", key);
    demo::v1::CreateUserRequest create;
    create.set_name("user" + std::to_string(i));
    create.set_email("user" + std::to_string(i) + "@example.com");
    demo::v1::User user;
    auto st = users->CreateUser(&ctx, create, &user);
    EXPECT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
    created += st.ok();
  }
  EXPECT_EQ(created, 20);
  auto n = flooded.get();
  EXPECT_EQ(n[grpc::StatusCode::UNAUTHENTICATED], cfg_.max_failures);
  EXPECT_EQ(n[grpc::StatusCode::RESOURCE_EXHAUSTED], 300 - cfg_.max_failures);
  EXPECT_EQ(n[grpc::StatusCode::UNAVAILABLE], 0);
}

TEST_P(auth, without_require_auth_anonymous_calls_pass_but_require_user_methods_refuse_them) {
  cfg_.require_auth = false;
  cfg_.enabled = true;
  serve();
  std::string who;
  ASSERT_TRUE(whoami("", &who).ok());
  EXPECT_EQ(who, "anonymous");
  // A key that is sent is still checked.
  EXPECT_EQ(whoami(std::string(64, 'a')).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  auto users = demo::v1::UserService::NewStub(channel_);
  demo::v1::CreateUserRequest create;
  create.set_name("dora");
  create.set_email("dora@example.com");
  demo::v1::User user;
  {
    grpc::ClientContext ctx;
    auto st = users->CreateUser(&ctx, create, &user);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-api-key", make_key("alice"));
    auto st = users->CreateUser(&ctx, create, &user);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  {
    grpc::ClientContext ctx;
    demo::v1::GetUserRequest get;
    get.set_user_id(user.id());
    auto st = users->GetUser(&ctx, get, &user);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  }
}

INSTANTIATE_TEST_SUITE_P(backends, auth, ::testing::Values(backend::sqlite, backend::postgresql),
                         troupe::db::testing::backend_name);

}  // namespace
}  // namespace troupe::test
