// A blocking-worker actor: runs jobs one at a time on its own thread with its
// own connection. Spawned by the pool (detached, linked).
#pragma once

#include <cstdint>
#include <memory>

#include <caf/all.hpp>

#include "driver.hpp"
#include "job_control.hpp"
#include "troupe/db/job.hpp"

namespace troupe::db {

// What the pool sends a worker; the answer is a job_result.
struct worker_job {
  uint64_t id = 0;  // names the job for job_control::cancel
  clock::time_point deadline = clock::time_point::max();
  job_function work;
};

caf::behavior worker(caf::event_based_actor* self, std::shared_ptr<driver> conn,
                     std::shared_ptr<job_control> control);

}  // namespace troupe::db

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::db::worker_job)
