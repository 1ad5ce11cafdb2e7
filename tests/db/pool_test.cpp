// The pool: bounded queue, cancellation by the owner's death, deadlines and
// shutdown, the same on every backend.
#include <thread>

#include "support.hpp"
#include "troupe/call_messages.hpp"

namespace troupe::db::testing {
namespace {

using std::chrono::steady_clock;

class pool_test : public backend_test {
protected:
  // A job that never ends by itself: it raises `started` and runs the endless
  // query, after inserting a row in the same transaction when `write_first`.
  auto endless(std::shared_ptr<latch> started, bool write_first = false) {
    return [sql = endless_query(kind()), started, write_first](connection& c) {
      auto run = [&] {
        started->raise();
        c.exec(sql);
      };
      if (!write_first)
        return run();
      // A writer holds SQLite's only write lock: one at a time.
      c.transaction([&] {
        c.exec("INSERT INTO users (id, email) VALUES (?, ?)", 99, "doomed@x");
        run();
      });
    };
  }

  // Waits until `n` endless queries are running in the database.
  void wait_until_running(int n) {
    if (kind() == backend::sqlite) {
      // SQLite shows no running statements; the signal came right before the
      // query, so give it a moment to begin (the outcome is the same if not).
      std::this_thread::sleep_for(100ms);
      return;
    }
    wait_for_pg_sleeps(n);
  }

  // Ends `owner` the way the transport ends a cancelled call, and waits until
  // it is gone (so the pool has been told before anything sent after this).
  void kill(const caf::actor& owner) {
    caf::scoped_actor self{sys()};
    self->monitor(owner);
    self->send_exit(owner, troupe::make_error(cancel_reason::cancelled));
    self->receive([](caf::down_msg&) {}, caf::after(patience) >> [] { ADD_FAILURE() << "the owner lives on"; });
  }
};

int64_t count_users(connection& c) {
  return std::get<0>(c.fetch_one<int64_t>("no count", "SELECT count(*) FROM users"));
}

double seconds_since(steady_clock::time_point t0) {
  return std::chrono::duration<double>(steady_clock::now() - t0).count();
}

TEST_P(pool_test, run_hands_the_typed_value_to_the_actor) {
  auto p = start(config());
  auto j = submit_in_background(p, [](connection& c) {
    return c.fetch_one<int64_t, std::string>("none", "SELECT 1 + ?, 'x'", 1);
  });
  ASSERT_EQ(j.result.wait_for(patience), std::future_status::ready);
  auto value = j.result.get();
  ASSERT_TRUE(value) << to_string(value.error());
  EXPECT_EQ(*value, std::make_tuple(int64_t{2}, std::string("x")));
}

TEST_P(pool_test, a_full_queue_refuses_at_once_with_busy) {
  auto p = start(config(2, 1));
  auto a_started = std::make_shared<latch>();
  auto b_started = std::make_shared<latch>();
  auto a = submit_in_background(p, endless(a_started));
  auto b = submit_in_background(p, endless(b_started));
  ASSERT_TRUE(a_started->wait());
  ASSERT_TRUE(b_started->wait());
  wait_until_running(2);

  // Requested from this thread, the queued job reaches the pool before the
  // one that must be refused.
  caf::scoped_actor self{sys()};
  auto queued = self->request(p.actor(), patience, job{self.ptr(), clock::time_point::max(), make_job_function([](connection& c) {
                                return std::get<0>(c.fetch_one<std::string>("none", "SELECT 'queued'"));
                              })});
  auto t0 = steady_clock::now();
  auto refused = submit(p, [](connection&) {});
  EXPECT_LT(seconds_since(t0), 0.5);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::busy) << to_string(refused.error());

  // A worker comes free: the queued job runs.
  kill(a.owner);
  std::optional<outcome<std::string>> value;
  queued.receive([&](job_result& r) { value.emplace(to_outcome<std::string>(r)); },
                 [&](caf::error& e) { FAIL() << sys().render(e); });
  ASSERT_TRUE(value && *value) << to_string(value->error());
  EXPECT_EQ(**value, "queued");
  kill(b.owner);
}

TEST_P(pool_test, a_dying_owner_interrupts_its_query_and_nothing_is_committed) {
  auto p = start(config(1, 4, 30'000));
  auto started = std::make_shared<latch>();
  auto doomed = submit_in_background(p, endless(started, true));
  ASSERT_TRUE(started->wait());
  wait_until_running(1);

  auto t0 = steady_clock::now();
  kill(doomed.owner);
  // The only worker must be free again long before the query's 30 s.
  auto count = submit(p, count_users);
  EXPECT_LT(seconds_since(t0), 2.0);
  ASSERT_TRUE(count) << to_string(count.error());
  EXPECT_EQ(*count, 0);
}

TEST_P(pool_test, a_deadline_shorter_than_the_query_fails_with_deadline) {
  auto p = start(config(1, 4, 30'000));
  auto started = std::make_shared<latch>();
  auto t0 = steady_clock::now();
  auto late = submit(p, endless(started, true), steady_clock::now() + 1s);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, errc::deadline) << to_string(late.error());
  // The database's own message: the running statement was stopped.
  EXPECT_NE(late.error().message, "the job ran past its deadline");
  EXPECT_LT(seconds_since(t0), 3.0);
  auto count = submit(p, count_users);
  ASSERT_TRUE(count) << to_string(count.error());
  EXPECT_EQ(*count, 0);
}

TEST_P(pool_test, the_job_timeout_bounds_a_job_without_deadline) {
  auto p = start(config(1, 4, 300));
  auto t0 = steady_clock::now();
  auto late = submit(p, endless(std::make_shared<latch>()));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, errc::deadline) << to_string(late.error());
  EXPECT_LT(seconds_since(t0), 2.0);
}

TEST_P(pool_test, a_queued_job_fails_when_its_deadline_passes_in_the_queue) {
  auto p = start(config(1, 4, 30'000));
  auto started = std::make_shared<latch>();
  auto blocker = submit_in_background(p, endless(started));
  ASSERT_TRUE(started->wait());
  auto t0 = steady_clock::now();
  auto queued = submit(p, count_users, steady_clock::now() + 200ms);
  ASSERT_FALSE(queued);
  EXPECT_EQ(queued.error().code, errc::deadline) << to_string(queued.error());
  EXPECT_LT(seconds_since(t0), 2.0);
  kill(blocker.owner);
}

TEST_P(pool_test, a_dying_owner_drops_its_queued_jobs) {
  auto p = start(config(1, 1, 30'000));
  auto started = std::make_shared<latch>();
  auto blocker = submit_in_background(p, endless(started));
  ASSERT_TRUE(started->wait());
  auto dropped = submit_in_background(p, [](connection& c) { c.exec("INSERT INTO users (id, email) VALUES (1, 'x')"); });
  kill(dropped.owner);
  kill(blocker.owner);
  // The pool learns of both deaths by message, and the interrupted blocker
  // takes a moment to stop: until then the one queue place may still be taken.
  auto count = submit(p, count_users);
  for (auto until = steady_clock::now() + patience; !count && count.error().code == errc::busy &&
                                                    steady_clock::now() < until;) {
    std::this_thread::sleep_for(10ms);
    count = submit(p, count_users);
  }
  ASSERT_TRUE(count) << to_string(count.error());
  EXPECT_EQ(*count, 0) << "the dropped job ran";
}

TEST_P(pool_test, stopping_fails_running_and_queued_jobs_with_unavailable) {
  auto p = start(config(1, 4, 30'000));
  auto started = std::make_shared<latch>();
  auto running = submit_in_background(p, endless(started));
  ASSERT_TRUE(started->wait());
  // Requested from here, the queued job is in the pool's mailbox before the
  // stop request.
  caf::scoped_actor self{sys()};
  auto queued = self->request(p.actor(), patience, job{self.ptr(), clock::time_point::max(), make_job_function(count_users)});
  auto t0 = steady_clock::now();
  p.stop();
  ASSERT_EQ(running.result.wait_for(patience), std::future_status::ready);
  auto r = running.result.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable) << to_string(r.error());
  std::optional<outcome<int64_t>> q;
  queued.receive([&](job_result& jr) { q.emplace(to_outcome<int64_t>(jr)); },
                 [&](caf::error& e) { FAIL() << sys().render(e); });
  ASSERT_TRUE(q && !*q);
  EXPECT_EQ(q->error().code, errc::unavailable) << to_string(q->error());
  EXPECT_LT(seconds_since(t0), 5.0);
}

INSTANTIATE_TEST_SUITE_P(backends, pool_test, ::testing::Values(backend::sqlite, backend::postgresql),
                         backend_name);

}  // namespace
}  // namespace troupe::db::testing
