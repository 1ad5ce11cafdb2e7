// The pool's front actor: event-based, never blocks. It hands jobs to idle
// workers, keeps a bounded FIFO of the others, refuses beyond that with
// errc::busy, and watches each job's owner so that a job whose owner
// terminates is dropped from the queue or interrupted in the database.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "driver.hpp"
#include "job_control.hpp"

namespace troupe::db {

struct worker_setup {
  std::shared_ptr<driver> connection;  // already open (and migrated)
  std::shared_ptr<job_control> control;
};

struct pool_setup {
  std::vector<worker_setup> workers;
  std::chrono::milliseconds job_timeout{5000};
  size_t queue_limit = 0;
};

caf::actor spawn_pool_actor(caf::actor_system& sys, pool_setup setup);

}  // namespace troupe::db
