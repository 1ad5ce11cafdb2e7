// Records finished calls in the `request_log` table through a database pool,
// in batches, from one actor, without ever making a call wait:
//
//   auto pool = troupe::db::pool::start(sys, cfg.database, troupe::request_log_migrations(cfg.database.url));
//   troupe::request_log_writer writer{sys, pool.actor()};
//   srv.set_request_log(mode, [writer](const troupe::call_record& r) { writer.record(r); });
//   ...
//   srv.shutdown();
//   writer.flush(std::chrono::seconds(5));   // before the pool stops
//
// Records wait in a bounded queue; beyond it they are dropped and counted
// (logged at most every few seconds, and at flush). A batch that fails to
// write is logged and lost: the request log never holds the server back.
// With options::retention, old rows are deleted by the same actor.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "troupe/call_record.hpp"
#include "troupe/db/migration.hpp"

namespace troupe {

// The `request_log` table (migration 300), for pool::start. The SQL differs
// by backend only in how `id` counts up; `database_url` tells which.
std::vector<db::migration> request_log_migrations(const std::string& database_url);

class request_log_writer {
public:
  struct options {
    size_t queue = 10'000;  // records waiting (queued or being written) before drops
    size_t batch = 200;     // a batch is written once this many wait ...
    std::chrono::milliseconds interval{100};  // ... or this long after its first
    std::chrono::milliseconds drop_report_interval{10'000};
    // Rows whose call started longer ago are deleted at start and then every
    // prune_interval; zero keeps them all.
    std::chrono::hours retention{0};
    std::chrono::milliseconds prune_interval{std::chrono::hours(1)};
  };

  request_log_writer(caf::actor_system& sys, caf::actor pool, options opts);
  request_log_writer(caf::actor_system& sys, caf::actor pool)
      : request_log_writer(sys, std::move(pool), options{}) {}

  // Queues `r`, or drops and counts it when the queue is full. Never blocks;
  // callable from any thread. Copies share one writer.
  void record(const call_record& r) const;

  // Writes everything recorded so far and stops the writer; waits up to
  // `timeout`. False if not everything was written in time (or at all).
  bool flush(std::chrono::milliseconds timeout) const;

  uint64_t dropped() const;  // records refused because the queue was full
  uint64_t failed() const;   // records lost in batches the database refused

  struct state;

private:
  std::shared_ptr<state> state_;
};

}  // namespace troupe
