// Runs a typed database job from an event-based actor and hands its outcome
// back as a message, without blocking the actor:
//
//   troupe::db::run(self, pool.actor(), deadline,
//       [id](troupe::db::connection& c) {
//         return c.fetch_one<std::string>("no such user", "SELECT email FROM users WHERE id = ?", id);
//       },
//       [](troupe::db::outcome<std::tuple<std::string>> r) { ... });
//
// `work` runs on a worker thread with that worker's connection: it must not
// touch the actor's state (capture copies). `done` runs in the actor, exactly
// once, with the value or the error (busy, deadline, a database error, or
// unavailable when the pool is gone).
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include <caf/all.hpp>

#include "troupe/db/job.hpp"
#include "troupe/db/outcome.hpp"

namespace troupe::db {

// What a job function `work(connection&)` returns.
template <class Work>
using work_result_t = std::invoke_result_t<Work&, connection&>;

// Erases the value type of `work` so that it fits in a job.
template <class Work>
job_function make_job_function(Work work) {
  return [work = std::move(work)](connection& c) mutable -> std::shared_ptr<void> {
    using value_type = work_result_t<Work>;
    if constexpr (std::is_void_v<value_type>) {
      work(c);
      return nullptr;
    } else {
      return std::make_shared<value_type>(work(c));
    }
  };
}

// The typed view of a job_result whose job function returned T.
template <class T>
outcome<T> to_outcome(job_result& r) {
  if (r.error)
    return outcome<T>(std::move(*r.error));
  if constexpr (std::is_void_v<T>)
    return outcome<void>();
  else
    return outcome<T>(std::move(*std::static_pointer_cast<T>(r.value)));
}

template <class Self, class Work, class Done>
void run(Self* self, const caf::actor& pool, clock::time_point deadline, Work work, Done done) {
  using value_type = work_result_t<Work>;
  self->request(pool, caf::infinite, job{self, deadline, make_job_function(std::move(work))})
    .then([done](job_result& r) mutable { done(to_outcome<value_type>(r)); },
          [self, done](caf::error& e) mutable {
            done(outcome<value_type>(error{errc::unavailable, "database pool: " + self->system().render(e)}));
          });
}

}  // namespace troupe::db
