// What a worker needs from a connection beyond what jobs see.
#pragma once

#include <memory>
#include <string_view>

#include "job_control.hpp"
#include "troupe/db/connection.hpp"
#include "url.hpp"

namespace troupe::db {

class driver : public connection {
public:
  // Before each job: opens a new connection when the old one broke. Throws
  // failure{errc::unavailable} while the database cannot be reached.
  virtual void prepare_for_job() = 0;

  // After each job: rolls back whatever transaction a failed job left open,
  // so that the next job starts clean.
  void finish_job() noexcept {
    reset_transaction();
    rollback();
  }

  // Several statements without parameters, e.g. a migration.
  virtual void exec_script(std::string_view sql) = 0;

  std::chrono::steady_clock::time_point job_deadline() const noexcept final { return control_->deadline(); }

protected:
  driver(backend kind, std::shared_ptr<job_control> control)
      : connection(kind), control_(std::move(control)) {}

  // Shared with the pool, which cancels jobs through it.
  std::shared_ptr<job_control> control_;
};

// Opens a connection for `url`; `control` is the owning worker's. Throws
// failure{errc::unavailable} when the database cannot be opened or reached.
std::unique_ptr<driver> open_sqlite(const std::string& path, std::shared_ptr<job_control> control);
std::unique_ptr<driver> open_postgres(const std::string& uri, std::shared_ptr<job_control> control);
// A blocking pool's worker: no database; every statement fails with internal.
std::unique_ptr<driver> open_none(std::shared_ptr<job_control> control);

inline std::unique_ptr<driver> open_driver(const database_url& url, std::shared_ptr<job_control> control) {
  return url.kind == backend::sqlite ? open_sqlite(url.target, std::move(control))
                                     : open_postgres(url.target, std::move(control));
}

}  // namespace troupe::db
