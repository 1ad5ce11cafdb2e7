#include "worker.hpp"

#include <exception>

namespace troupe::db {

namespace {

job_result execute(driver& conn, const job_control& control, const job_function& work) {
  try {
    conn.prepare_for_job();
    control.check();
    return {work(conn), std::nullopt};
  } catch (const failure& f) {
    return {nullptr, f.to_error()};
  } catch (const std::exception& e) {
    return {nullptr, error{errc::internal, e.what()}};
  } catch (...) {
    return {nullptr, error{errc::internal, "the job threw a non-standard exception"}};
  }
}

}  // namespace

caf::behavior worker(caf::event_based_actor*, std::shared_ptr<driver> conn, std::shared_ptr<job_control> control) {
  return {
    [conn, control](worker_job& job) -> job_result {
      control->begin(job.id, job.deadline);
      auto result = execute(*conn, *control, job.work);
      // No longer cancellable: the clean-up below must run to its end.
      control->end();
      conn->finish_job();
      return result;
    },
  };
}

}  // namespace troupe::db
