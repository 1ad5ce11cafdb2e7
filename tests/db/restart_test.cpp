// A PostgreSQL server that goes away and comes back: jobs fail with
// unavailable meanwhile, and the same pool serves again afterwards. Runs on
// its own cluster (the fixture db_pg_restart), as it stops the server.
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "support.hpp"

namespace troupe::db::testing {
namespace {

class restart_test : public db_test {
protected:
  void SetUp() override {
    db_test::SetUp();
    if (!have_postgres())
      GTEST_SKIP() << "no PostgreSQL cluster: run through ctest";
    use(backend::postgresql);
  }

  // Runs `n` jobs at once, one on each worker: each waits for the others
  // before touching the database. (A job that fails before its function runs,
  // server down, never arrives: the others go on after a while.)
  std::vector<outcome<int64_t>> on_every_worker(const pool& p, int n) {
    struct rendezvous {
      std::mutex mutex;
      std::condition_variable arrived;
      int count = 0;
    };
    auto meet = std::make_shared<rendezvous>();
    std::vector<background_job<int64_t>> jobs;
    for (int i = 0; i < n; ++i)
      jobs.push_back(submit_in_background(p, [meet, n](connection& c) {
        std::unique_lock<std::mutex> lock(meet->mutex);
        ++meet->count;
        meet->arrived.notify_all();
        meet->arrived.wait_for(lock, 2s, [&] { return meet->count == n; });
        lock.unlock();
        return std::get<0>(c.fetch_one<int64_t>("none", "SELECT 40 + ?", 2));
      }));
    std::vector<outcome<int64_t>> results;
    for (auto& j : jobs) {
      if (j.result.wait_for(patience) != std::future_status::ready) {
        ADD_FAILURE() << "a job did not finish";
        continue;
      }
      results.push_back(j.result.get());
    }
    return results;
  }
};

TEST_F(restart_test, jobs_fail_unavailable_while_the_server_is_down_and_succeed_after) {
  const int workers = 2;
  auto p = start(config(workers, 8, 5'000));
  for (auto& r : on_every_worker(p, workers))
    ASSERT_TRUE(r) << to_string(r.error());

  // The server stops under a running statement: that job fails too.
  auto running = submit_in_background(p, [](connection& c) { c.exec("SELECT pg_sleep(30)"); });
  wait_for_pg_sleeps(1);
  auto t0 = clock::now();
  pg_cluster("stop " + postgres_dir() + " immediate");
  ASSERT_EQ(running.result.wait_for(patience), std::future_status::ready);
  auto lost = running.result.get();
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, errc::unavailable) << to_string(lost.error());
  EXPECT_LT(std::chrono::duration<double>(clock::now() - t0).count(), 5.0);

  // Every worker's connection is dead: each job fails at once, and again
  // while the server stays down.
  for (int round = 0; round < 2; ++round) {
    auto results = on_every_worker(p, workers);
    ASSERT_EQ(results.size(), size_t{workers});
    for (auto& r : results) {
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().code, errc::unavailable) << to_string(r.error());
    }
  }

  // pg_ctl waits until the server accepts connections; then every worker
  // reconnects on its next job.
  pg_cluster("start " + postgres_dir());
  for (int round = 0; round < 2; ++round) {
    auto results = on_every_worker(p, workers);
    ASSERT_EQ(results.size(), size_t{workers});
    for (auto& r : results) {
      ASSERT_TRUE(r) << to_string(r.error());
      EXPECT_EQ(*r, 42);
    }
  }
}

}  // namespace
}  // namespace troupe::db::testing
