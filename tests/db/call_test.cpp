// Database work from call actors, through real gRPC channels, on SQLite and
// PostgreSQL: stuck workers do not slow other calls; a cancel or a deadline
// interrupts the query and frees the worker; a full queue is refused at once;
// every write acknowledged with OK is committed.
#include <gtest/gtest.h>

#include <troupe/db/migration.hpp>
#include <troupe/service.hpp>

#include "db/support.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using bench::v1::Payload;
using namespace std::chrono_literals;
using troupe::db::backend;
using troupe::db::testing::backend_test;

// bench.v1.Bench Unary, with database work chosen by the payload:
//   "plain"       no database at all
//   "write:X"     inserts note X
//   "slow"        runs a query that never ends by itself
//   "slow-write:X" inserts note X, then the endless query, in one transaction
troupe::service notes_service(caf::actor pool, backend kind, std::shared_ptr<std::atomic<int>> started) {
  troupe::service svc{"bench.v1.Bench"};
  auto endless = troupe::db::testing::endless_query(kind);
  svc.unary<Payload, Payload>("Unary", [=](troupe::unary_actor<Payload, Payload> self) -> caf::behavior {
    return {
      [=](const Payload& req) {
        std::string data = req.data();
        if (data == "plain")
          return self.reply(req);
        self.db(
          pool,
          [data, endless, started](troupe::db::connection& c) {
            auto insert = [&](const std::string& note) {
              c.exec("INSERT INTO notes (body) VALUES (?)", note);
            };
            if (data.rfind("write:", 0) == 0) {
              insert(data.substr(6));
            } else if (data == "slow") {
              ++*started;
              c.exec(endless);
            } else if (data.rfind("slow-write:", 0) == 0) {
              c.transaction([&] {
                insert(data.substr(11));
                ++*started;
                c.exec(endless);
              });
            }
            return data;
          },
          [self](troupe::result<std::string> r) {
            if (!r.ok())
              return self.fail(r.error());
            Payload out;
            out.set_data(*r);
            self.reply(out);
          });
      },
    };
  });
  return svc;
}

class database_calls : public backend_test {
protected:
  // Starts the pool and a server on this test's database.
  void serve(int workers, int queue) {
    pool_.emplace(start(config(workers, queue, 10'000),
                        {{1, "CREATE TABLE notes (" + troupe::db::id_column(url_) + ", body TEXT NOT NULL)"}}));
    server_ = std::make_unique<troupe::server>(sys(), local_config());
    server_->add(notes_service(pool_->actor(), kind(), started_));
    server_->start();
    stub_ = bench::v1::Bench::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_)
      server_->shutdown();
    server_.reset();
    pool_.reset();
    backend_test::TearDown();
  }

  grpc::Status unary(const std::string& data, std::chrono::milliseconds deadline = 10s,
                     grpc::ClientContext* given = nullptr) {
    grpc::ClientContext own;
    auto& ctx = given ? *given : own;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    Payload req, resp;
    req.set_data(data);
    return stub_->Unary(&ctx, req, &resp);
  }

  // Starts a call on another thread; its status arrives in the future.
  std::future<grpc::Status> unary_async(const std::string& data, grpc::ClientContext* ctx,
                                        std::chrono::milliseconds deadline = 10s) {
    return std::async(std::launch::async, [=] { return unary(data, deadline, ctx); });
  }

  long count_notes(const std::string& body) {
    auto r = submit(*pool_, [body](troupe::db::connection& c) {
      return std::get<0>(*c.query_one<int64_t>("SELECT count(*) FROM notes WHERE body = ?", body));
    });
    return r.ok() ? static_cast<long>(*r) : -1;
  }

  std::shared_ptr<std::atomic<int>> started_ = std::make_shared<std::atomic<int>>(0);
  std::optional<troupe::db::pool> pool_;
  std::unique_ptr<troupe::server> server_;
  std::unique_ptr<bench::v1::Bench::Stub> stub_;
};

TEST_P(database_calls, stuck_workers_do_not_slow_other_calls) {
  serve(2, 4);
  grpc::ClientContext a, b;
  auto slow_a = unary_async("slow", &a);
  auto slow_b = unary_async("slow", &b);
  ASSERT_TRUE(wait_until([&] { return *started_ == 2; }));
  for (int i = 0; i < 20; ++i) {
    auto begin = std::chrono::steady_clock::now();
    ASSERT_TRUE(unary("plain").ok());
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 100ms) << "call " << i;
  }
  a.TryCancel();
  b.TryCancel();
  EXPECT_EQ(slow_a.get().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(slow_b.get().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_P(database_calls, cancel_interrupts_the_query_and_commits_nothing) {
  serve(1, 4);
  grpc::ClientContext ctx;
  auto call = unary_async("slow-write:cancelled", &ctx);
  ASSERT_TRUE(wait_until([&] { return *started_ == 1; }));
  auto cancelled_at = std::chrono::steady_clock::now();
  ctx.TryCancel();
  EXPECT_EQ(call.get().error_code(), grpc::StatusCode::CANCELLED);
  // The only worker is free again long before the query would have ended.
  ASSERT_TRUE(unary("write:after").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, 3s);
  EXPECT_EQ(count_notes("cancelled"), 0);
  EXPECT_EQ(count_notes("after"), 1);
}

TEST_P(database_calls, deadline_shorter_than_the_query_frees_the_worker) {
  serve(1, 4);
  auto begin = std::chrono::steady_clock::now();
  auto st = unary("slow-write:late", 300ms);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(unary("write:next").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
  EXPECT_EQ(count_notes("late"), 0);
}

TEST_P(database_calls, full_queue_is_unavailable_at_once) {
  serve(1, 1);
  grpc::ClientContext running;
  auto first = unary_async("slow", &running);
  ASSERT_TRUE(wait_until([&] { return *started_ == 1; }));
  // The worker is busy and the queue holds one: of two more calls, one waits
  // in the queue and the other is refused at once.
  grpc::ClientContext b, c;
  auto begin = std::chrono::steady_clock::now();
  auto second = unary_async("slow", &b);
  auto third = unary_async("slow", &c);
  std::future<grpc::Status>* refused = nullptr;
  ASSERT_TRUE(wait_until([&] {
    for (auto* f : {&second, &third})
      if (f->wait_for(0s) == std::future_status::ready)
        refused = f;
    return refused != nullptr;
  }));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
  auto st = refused->get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  running.TryCancel();
  b.TryCancel();
  c.TryCancel();
  first.get();
  (refused == &second ? third : second).get();
}

TEST_P(database_calls, every_acknowledged_write_is_committed) {
  serve(4, 64);
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t)
    clients.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i)
        if (unary("write:ack-" + std::to_string(t) + "-" + std::to_string(i)).ok())
          ++acknowledged;
    });
  for (auto& c : clients)
    c.join();
  EXPECT_EQ(acknowledged, 200);
  auto total = submit(*pool_, [](troupe::db::connection& c) {
    return std::get<0>(*c.query_one<int64_t>("SELECT count(*) FROM notes"));
  });
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(*total, acknowledged.load());
}

INSTANTIATE_TEST_SUITE_P(backends, database_calls,
                         ::testing::Values(backend::sqlite, backend::postgresql),
                         troupe::db::testing::backend_name);

}  // namespace
}  // namespace troupe::test
