// The database pool: `workers` blocking-worker actors, each on its own thread
// (caf::detached) with its own connection, behind a non-blocking front actor
// that queues at most `queue` jobs and refuses more at once with errc::busy.
//
//   auto pool = troupe::db::pool::start(sys, cfg.database, {{1, "CREATE TABLE ..."}});
//   troupe::db::run(self, pool.actor(), deadline, work, done);   // see run.hpp
//
// A job is interrupted in the database (sqlite3_interrupt / PQcancel) when its
// owner actor terminates, and fails with errc::deadline when it runs past its
// deadline. A worker whose PostgreSQL connection broke opens a new one on its
// next job; jobs fail with errc::unavailable while the server is down.
#pragma once

#include <vector>

#include <caf/all.hpp>

#include "troupe/config.hpp"
#include "troupe/db/connection.hpp"
#include "troupe/db/migration.hpp"

namespace troupe::db {

class pool {
public:
  // Opens every connection and applies the migrations before returning, on
  // the calling thread (not from inside an actor). Throws failure with
  // errc::invalid_argument (bad url or settings) or errc::unavailable (cannot
  // open or reach the database), or the failing migration's error.
  static pool start(caf::actor_system& sys, const database_config& cfg,
                    const std::vector<migration>& migrations = {});

  // A pool for blocking work without a database (troupe::blocking(fn)): the
  // same queue, deadlines and owner watching; its jobs' connection runs no
  // statements (backend::none).
  static pool start_blocking(caf::actor_system& sys, const blocking_config& cfg);

  pool(pool&& other) noexcept;
  pool& operator=(pool&& other) noexcept;
  // Stops the pool (see stop()).
  ~pool();

  // Where jobs go (job.hpp, run.hpp). Copies may be handed to any actor.
  const caf::actor& actor() const noexcept { return actor_; }
  backend kind() const noexcept { return kind_; }

  // Interrupts running jobs, fails queued ones with errc::unavailable and
  // closes the connections once the workers are done. Does not wait.
  void stop();

private:
  pool(caf::actor a, backend kind) : actor_(std::move(a)), kind_(kind) {}

  caf::actor actor_;
  backend kind_;
};

}  // namespace troupe::db
