// The connection of a blocking pool's workers (pool::start_blocking): the
// pool's queue, deadlines and owner watching, without a database. A job that
// tries a statement anyway has a bug: it fails with internal.
#include "driver.hpp"

namespace troupe::db {

namespace {

class no_database final : public driver {
public:
  explicit no_database(std::shared_ptr<job_control> control) : driver(backend::none, std::move(control)) {}

  void prepare_for_job() override {}
  void exec_script(std::string_view) override { refuse(); }

protected:
  int64_t exec_params(std::string_view, const param*, size_t) override { refuse(); }
  void query_params(std::string_view, const param*, size_t, row_sink) override { refuse(); }
  void begin() override { refuse(); }
  void commit() override { refuse(); }
  void rollback() noexcept override {}

private:
  [[noreturn]] static void refuse() {
    throw failure(errc::internal, "a blocking pool has no database: use troupe::blocking(db_pool, fn) for SQL");
  }
};

}  // namespace

std::unique_ptr<driver> open_none(std::shared_ptr<job_control> control) {
  return std::make_unique<no_database>(std::move(control));
}

}  // namespace troupe::db
