// Sync handlers (troupe::blocking) through real gRPC channels, on SQLite and
// PostgreSQL: the function runs on a worker, not a scheduler thread; what it
// returns or throws is the call's status; a cancel interrupts its query and
// rolls it back; a full queue is refused at once; a stream's writer waits for
// the client and stops when the call is over.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include <troupe/blocking.hpp>
#include <troupe/db/migration.hpp>
#include <troupe/service.hpp>

#include "db/support.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;
using namespace std::chrono_literals;
using troupe::db::backend;
using troupe::db::testing::backend_test;
using troupe::db::testing::patience;

// What the handlers tell the test.
struct probe {
  std::atomic<int> started{0};   // handlers that reached their blocking part
  std::atomic<int> written{0};   // stream writes that returned true
  std::atomic<bool> refused{false};  // a stream write returned false
  std::atomic<bool> returned{false};  // the stream's function returned
  std::promise<void> release;    // lets "hold" handlers return
  std::shared_future<void> released = release.get_future().share();
};

Payload payload(std::string data) {
  Payload p;
  p.set_data(std::move(data));
  return p;
}

// bench.v1.Bench with sync handlers, chosen by the payload:
//   "write:X"       inserts note X and answers what it reads back
//   "missing"       reads a note that does not exist (NOT_FOUND)
//   "denied"        returns a status
//   "throw-status"  throws status_error(FAILED_PRECONDITION)
//   "throw"         throws std::runtime_error (INTERNAL, text kept out)
//   "hold"          waits until the test releases it
//   "slow-write:X"  inserts note X, then runs an endless query, in one transaction
// ServerStream writes `count` payloads numbered 0, 1, ...
troupe::service sync_service(caf::actor pool, backend kind, std::shared_ptr<probe> p) {
  troupe::service svc{"bench.v1.Bench"};
  auto endless = troupe::db::testing::endless_query(kind);
  svc.unary<Payload, Payload>(
    "Unary", troupe::blocking(pool, [p, endless](troupe::call&, const Payload& req,
                                                 troupe::db::connection& c) -> troupe::result<Payload> {
      const std::string& d = req.data();
      if (d.rfind("write:", 0) == 0) {
        c.exec("INSERT INTO notes (body) VALUES (?)", d.substr(6));
        auto [body] = c.fetch_one<std::string>("the note", "SELECT body FROM notes WHERE body = ?", d.substr(6));
        return payload(body);
      }
      if (d == "missing") {
        auto [body] = c.fetch_one<std::string>("no note -1", "SELECT body FROM notes WHERE id = -1");
        return payload(body);
      }
      if (d == "denied")
        return troupe::permission_denied("not yours");
      if (d == "throw-status")
        throw troupe::status_error(troupe::status_code::FAILED_PRECONDITION, "not now");
      if (d == "throw")
        throw std::runtime_error("secret detail");
      if (d == "hold") {
        ++p->started;
        p->released.wait_for(patience);
        return payload("held");
      }
      if (d.rfind("slow-write:", 0) == 0) {
        c.transaction([&] {
          c.exec("INSERT INTO notes (body) VALUES (?)", d.substr(11));
          ++p->started;
          c.exec(endless);
        });
      }
      return payload(d);
    }));
  svc.server_stream<StreamRequest, Payload>(
    "ServerStream", troupe::blocking(pool, [p](troupe::call&, const StreamRequest& req, troupe::db::connection&,
                                               troupe::writer<Payload>& out) {
      ++p->started;
      for (int i = 0; i < req.count(); ++i) {
        if (!out.write(payload(std::to_string(i) + std::string(static_cast<size_t>(req.size()), 'x')))) {
          p->refused = true;
          break;
        }
        ++p->written;
      }
      p->returned = true;
    }));
  return svc;
}

class blocking_calls : public backend_test {
protected:
  void serve(int workers, int queue, int job_timeout_ms = 10'000, int write_window = 128) {
    pool_.emplace(start(config(workers, queue, job_timeout_ms),
                        {{1, "CREATE TABLE notes (" + troupe::db::id_column(url_) + ", body TEXT NOT NULL)"}}));
    auto cfg = local_config();
    cfg.write_window = write_window;
    server_ = std::make_unique<troupe::server>(sys(), cfg);
    server_->add(sync_service(pool_->actor(), kind(), probe_));
    server_->start();
    stub_ = bench::v1::Bench::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    probe_->release.set_value();
    if (server_)
      server_->shutdown();
    server_.reset();
    pool_.reset();
    backend_test::TearDown();
  }

  grpc::Status unary(const std::string& data, Payload* out = nullptr, std::chrono::milliseconds deadline = 10s,
                     grpc::ClientContext* given = nullptr) {
    grpc::ClientContext own;
    auto& ctx = given ? *given : own;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    Payload resp;
    auto st = stub_->Unary(&ctx, payload(data), &resp);
    if (out)
      *out = resp;
    return st;
  }

  std::future<grpc::Status> unary_async(const std::string& data, grpc::ClientContext* ctx) {
    return std::async(std::launch::async, [=] { return unary(data, nullptr, 10s, ctx); });
  }

  long count_notes(const std::string& body) {
    auto r = submit(*pool_, [body](troupe::db::connection& c) {
      return std::get<0>(*c.query_one<int64_t>("SELECT count(*) FROM notes WHERE body = ?", body));
    });
    return r.ok() ? static_cast<long>(*r) : -1;
  }

  std::shared_ptr<probe> probe_ = std::make_shared<probe>();
  std::optional<troupe::db::pool> pool_;
  std::unique_ptr<troupe::server> server_;
  std::unique_ptr<bench::v1::Bench::Stub> stub_;
};

TEST_P(blocking_calls, the_return_value_is_the_reply_and_the_write_is_committed) {
  serve(2, 8);
  Payload out;
  auto st = unary("write:hello", &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.data(), "hello");
  EXPECT_EQ(count_notes("hello"), 1);
}

TEST_P(blocking_calls, statuses_database_errors_and_exceptions_end_the_call_with_their_status) {
  serve(2, 8);
  EXPECT_EQ(unary("missing").error_code(), grpc::StatusCode::NOT_FOUND);
  auto denied = unary("denied");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(), "not yours");
  EXPECT_EQ(unary("throw-status").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  auto thrown = unary("throw");
  EXPECT_EQ(thrown.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(thrown.error_message().find("secret"), std::string::npos) << thrown.error_message();
  // The worker is fine after each of them.
  EXPECT_TRUE(unary("write:after").ok());
}

// The test's actor system has two scheduler threads: three handlers blocked
// on them would stop every other call.
TEST_P(blocking_calls, blocked_handlers_hold_workers_not_scheduler_threads) {
  serve(4, 8);
  std::vector<std::unique_ptr<grpc::ClientContext>> held;
  std::vector<std::future<grpc::Status>> results;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<grpc::ClientContext>());
    results.push_back(unary_async("hold", held.back().get()));
  }
  ASSERT_TRUE(wait_until([&] { return probe_->started == 3; }));
  Payload out;
  auto st = unary("write:while-held", &out, 3s);
  EXPECT_TRUE(st.ok()) << st.error_message();
  probe_->release.set_value();
  probe_->release = std::promise<void>();  // TearDown sets it again
  for (auto& r : results)
    EXPECT_TRUE(r.get().ok());
}

TEST_P(blocking_calls, a_cancel_interrupts_the_query_and_rolls_the_transaction_back) {
  serve(1, 8);
  grpc::ClientContext ctx;
  auto slow = unary_async("slow-write:doomed", &ctx);
  ASSERT_TRUE(wait_until([&] { return probe_->started == 1; }));
  ctx.TryCancel();
  EXPECT_EQ(slow.get().error_code(), grpc::StatusCode::CANCELLED);
  // The only worker is free again, and the insert was rolled back.
  EXPECT_TRUE(unary("write:next").ok());
  EXPECT_EQ(count_notes("doomed"), 0);
}

TEST_P(blocking_calls, a_deadline_interrupts_the_query) {
  serve(1, 8);
  auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(unary("slow-write:late", nullptr, 300ms).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
  EXPECT_TRUE(unary("write:next").ok());
  EXPECT_EQ(count_notes("late"), 0);
}

TEST_P(blocking_calls, a_full_queue_is_unavailable_at_once) {
  serve(1, 0);
  grpc::ClientContext ctx;
  auto held = unary_async("hold", &ctx);
  ASSERT_TRUE(wait_until([&] { return probe_->started == 1; }));
  auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(unary("write:refused").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 2s);
  probe_->release.set_value();
  probe_->release = std::promise<void>();
  EXPECT_TRUE(held.get().ok());
  EXPECT_EQ(count_notes("refused"), 0);
}

TEST_P(blocking_calls, a_stream_writer_delivers_every_message_in_order) {
  serve(2, 8, 10'000, 4);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + patience);
  StreamRequest req;
  req.set_count(500);
  req.set_size(100);
  auto reader = stub_->ServerStream(&ctx, req);
  Payload p;
  int n = 0;
  while (reader->Read(&p)) {
    ASSERT_EQ(p.data().substr(0, p.data().size() - 100), std::to_string(n));
    ++n;
  }
  auto st = reader->Finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(n, 500);
  EXPECT_EQ(probe_->written, 500);
}

// A client that stops reading holds the writer on its worker; once it
// cancels, write() returns false, the function returns and the worker is free.
TEST_P(blocking_calls, a_stalled_reader_holds_one_worker_until_it_cancels) {
  serve(1, 8, 10'000, 4);
  grpc::ClientContext ctx;
  StreamRequest req;
  req.set_count(1'000'000);
  req.set_size(1000);
  auto reader = stub_->ServerStream(&ctx, req);
  Payload p;
  ASSERT_TRUE(reader->Read(&p));
  // The writer fills the window and the transport's buffers, then waits.
  int last = -1;
  ASSERT_TRUE(wait_until([&] {
    int now = probe_->written;
    bool still = now == last;
    last = now;
    return still && now > 0;
  }, patience));
  EXPECT_FALSE(probe_->returned);
  EXPECT_LT(probe_->written, 1'000'000);
  ctx.TryCancel();
  EXPECT_TRUE(wait_until([&] { return probe_->returned.load(); }));
  EXPECT_TRUE(probe_->refused);
  EXPECT_TRUE(unary("write:after-stream").ok());
}

TEST_P(blocking_calls, a_writer_gives_up_on_a_stalled_reader_at_the_job_timeout) {
  serve(1, 8, 500, 4);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + patience);
  StreamRequest req;
  req.set_count(1'000'000);
  req.set_size(1000);
  auto reader = stub_->ServerStream(&ctx, req);
  Payload p;
  ASSERT_TRUE(reader->Read(&p));
  ASSERT_TRUE(wait_until([&] { return probe_->returned.load(); }));
  EXPECT_TRUE(probe_->refused);
  while (reader->Read(&p)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

INSTANTIATE_TEST_SUITE_P(backends, blocking_calls, ::testing::Values(backend::sqlite, backend::postgresql),
                         troupe::db::testing::backend_name);

// troupe::blocking(fn): no database, the [blocking] threads.
class blocking_without_database : public troupe::db::testing::db_test {
protected:
  void serve(bool with_pool) {
    if (with_pool)
      threads_.emplace(sys(), blocking_config{2, 4, 10'000});
    troupe::service svc{"bench.v1.Bench"};
    svc.unary<Payload, Payload>("Unary", troupe::blocking([p = probe_](troupe::call& call, const Payload& req)
                                                            -> troupe::result<Payload> {
      if (req.data() == "poll") {
        ++p->started;
        // Polls, as code that cannot be interrupted should.
        auto until = std::chrono::steady_clock::now() + patience;
        while (!call.cancelled() && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(1ms);
        p->returned = call.cancelled();
        return troupe::unavailable("cancelled");
      }
      return payload("echo:" + req.data());
    }));
    server_ = std::make_unique<troupe::server>(sys(), local_config());
    server_->add(svc);
    server_->start();
    stub_ = bench::v1::Bench::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_)
      server_->shutdown();
    server_.reset();
    threads_.reset();
    db_test::TearDown();
  }

  std::shared_ptr<probe> probe_ = std::make_shared<probe>();
  std::optional<troupe::blocking_pool> threads_;
  std::unique_ptr<troupe::server> server_;
  std::unique_ptr<bench::v1::Bench::Stub> stub_;
};

TEST_F(blocking_without_database, the_function_runs_on_the_blocking_threads) {
  serve(true);
  grpc::ClientContext ctx;
  Payload out;
  ASSERT_TRUE(stub_->Unary(&ctx, payload("x"), &out).ok());
  EXPECT_EQ(out.data(), "echo:x");
}

TEST_F(blocking_without_database, a_cancelled_call_is_seen_by_the_polling_function) {
  serve(true);
  grpc::ClientContext ctx;
  auto call = std::async(std::launch::async, [&] {
    Payload out;
    return stub_->Unary(&ctx, payload("poll"), &out);
  });
  ASSERT_TRUE(wait_until([&] { return probe_->started == 1; }));
  ctx.TryCancel();
  EXPECT_EQ(call.get().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(wait_until([&] { return probe_->returned.load(); }));
}

TEST_F(blocking_without_database, without_blocking_threads_the_call_is_unavailable) {
  serve(false);
  grpc::ClientContext ctx;
  Payload out;
  EXPECT_EQ(stub_->Unary(&ctx, payload("x"), &out).error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace troupe::test
