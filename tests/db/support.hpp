// Shared set-up for the database tests: a fresh database per test (a temp file
// for SQLite, a new database in the throw-away cluster for PostgreSQL), an
// actor system, and blocking helpers that submit jobs the way a call actor does.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "troupe/config.hpp"
#include "troupe/db/pool.hpp"
#include "troupe/db/run.hpp"

namespace troupe::db {

// Names the backend in test output.
inline void PrintTo(backend b, std::ostream* os) {
  *os << to_string(b);
}

}  // namespace troupe::db

namespace troupe::db::testing {

using namespace std::chrono_literals;

// Longest any single wait in a test may take before it counts as a failure.
constexpr auto patience = std::chrono::seconds(15);

// A statement that runs until it is interrupted (or for 30 s on PostgreSQL).
std::string endless_query(backend kind);

// Whether the tests run inside ctest's PostgreSQL fixture (TROUPE_TEST_PG_DIR
// names the cluster's folder); outside it the PostgreSQL tests are skipped.
bool have_postgres();

// The url of the throw-away cluster's admin database ("" when it cannot be read).
std::string postgres_base_url();

// The throw-away cluster's folder ($TROUPE_TEST_PG_DIR; its server's data is
// in data/ under it).
std::string postgres_dir();

// Runs `pg_cluster.sh ARGS` (e.g. "stop DIR immediate", "start DIR") and
// fails the test unless it succeeds.
void pg_cluster(const std::string& args);

// Where a test's result arrives when its owner actor runs in the background.
template <class T>
struct background_job {
  caf::actor owner;  // kill it to cancel the job
  std::future<outcome<T>> result;
};

// A one-shot signal a job function raises from the worker thread.
struct latch {
  std::promise<void> promise;
  std::shared_future<void> future = promise.get_future().share();

  void raise() {
    try {
      promise.set_value();
    } catch (const std::future_error&) {
      // raised already
    }
  }
  bool wait() const { return future.wait_for(patience) == std::future_status::ready; }
};

template <class Work>
caf::behavior background_owner(caf::event_based_actor* self, caf::actor pool, Work work,
                               clock::time_point deadline,
                               std::shared_ptr<std::promise<outcome<work_result_t<Work>>>> done) {
  using T = work_result_t<Work>;
  run(self, pool, deadline, std::move(work), [done](outcome<T> o) { done->set_value(std::move(o)); });
  return {};  // the actor lives until the answer arrives
}

class db_test : public ::testing::Test {
protected:
  void SetUp() override;
  void TearDown() override;

  // Uses the test's own database.
  void use(backend kind);

  database_config config(int workers = 2, int queue = 8, int job_timeout_ms = 10'000) const;
  pool start(const database_config& cfg, const std::vector<migration>& migrations = schema());

  // A users table and a posts table referencing it.
  static std::vector<migration> schema();

  caf::actor_system& sys() { return *sys_; }

  // PostgreSQL: waits until `n` `SELECT pg_sleep(...)` statements run in the
  // test's database.
  void wait_for_pg_sleeps(int n);

  // Submits `work` from a scoped actor and waits for the outcome.
  template <class Work>
  outcome<work_result_t<Work>> submit(const pool& p, Work work, clock::time_point deadline = clock::time_point::max()) {
    using T = work_result_t<Work>;
    caf::scoped_actor self{sys()};
    std::optional<outcome<T>> result;
    self->request(p.actor(), patience, job{self.ptr(), deadline, make_job_function(std::move(work))})
      .receive([&](job_result& r) { result.emplace(to_outcome<T>(r)); },
               [&](caf::error& e) { result.emplace(error{errc::unavailable, sys().render(e)}); });
    return std::move(*result);
  }

  // Submits `work` from a new actor through run(), as a call actor would.
  template <class Work>
  background_job<work_result_t<Work>> submit_in_background(const pool& p, Work work,
                                                           clock::time_point deadline = clock::time_point::max()) {
    using T = work_result_t<Work>;
    auto done = std::make_shared<std::promise<outcome<T>>>();
    auto future = done->get_future();
    auto owner = sys().spawn(background_owner<Work>, p.actor(), std::move(work), deadline, done);
    return {owner, std::move(future)};
  }

  std::string url_;
  std::string admin_url_;
  std::string database_name_;
  std::string sqlite_dir_;

private:
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

// Runs each test once per backend.
class backend_test : public db_test, public ::testing::WithParamInterface<backend> {
protected:
  void SetUp() override;
  backend kind() const { return GetParam(); }
};

std::string backend_name(const ::testing::TestParamInfo<backend>& info);

}  // namespace troupe::db::testing
