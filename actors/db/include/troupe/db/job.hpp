// The pool's message protocol. Most code uses run() (run.hpp) instead; these
// are for actors that want to build the request themselves:
//
//   auto work = troupe::db::make_job_function([](troupe::db::connection& c) { return ...; });
//   self->request(pool.actor(), caf::infinite, troupe::db::job{self, deadline, work})
//     .then([](troupe::db::job_result& r) { auto o = troupe::db::to_outcome<T>(r); ... });
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include <caf/all.hpp>

#include "troupe/db/connection.hpp"
#include "troupe/db/errors.hpp"

namespace troupe::db {

using clock = std::chrono::steady_clock;

// The job's value, type-erased so that one pool serves every result type.
using job_function = std::function<std::shared_ptr<void>(connection&)>;

struct job {
  // The actor the job works for: the pool monitors it and interrupts the job
  // (or drops it from the queue) when that actor terminates. Empty: the sender.
  caf::strong_actor_ptr owner;
  // The job fails with errc::deadline past this point; the pool's job_timeout
  // (counted from the job's start) applies as well. clock::time_point::max():
  // only the job_timeout.
  clock::time_point deadline = clock::time_point::max();
  job_function work;

  template <class Self>
  job(Self* owner_actor, clock::time_point deadline_at, job_function f)
      : owner(caf::actor_cast<caf::strong_actor_ptr>(owner_actor)),
        deadline(deadline_at),
        work(std::move(f)) {}
};

// The pool's answer to a job.
struct job_result {
  std::shared_ptr<void> value;  // what the job function returned, when it succeeded
  std::optional<db::error> error;
};

}  // namespace troupe::db

// Jobs run in-process only: their closures cannot be serialised.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::db::job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::db::job_result)
