#include "troupe/db/pool.hpp"

#include "migrations.hpp"
#include "pool_actor.hpp"
#include "url.hpp"

namespace troupe::db {

namespace {

// `workers` workers, each with its own job control and the connection
// `open(index, control)` makes for it on the calling thread.
template <class Open>
pool_setup make_setup(int workers, int queue, int job_timeout_ms, Open open) {
  pool_setup setup;
  setup.job_timeout = std::chrono::milliseconds(job_timeout_ms);
  setup.queue_limit = static_cast<size_t>(queue);
  for (int i = 0; i < workers; ++i) {
    auto control = std::make_shared<job_control>();
    std::shared_ptr<driver> conn = open(i, control);
    setup.workers.push_back({std::move(conn), std::move(control)});
  }
  return setup;
}

}  // namespace

pool pool::start(caf::actor_system& sys, const database_config& cfg, const std::vector<migration>& migrations) {
  auto url = parse_url(cfg.url);
  if (cfg.workers < 1 || cfg.queue < 0 || cfg.job_timeout_ms < 1)
    throw failure(errc::invalid_argument, "[database] needs workers >= 1, queue >= 0 and job_timeout_ms >= 1");
  // Opened here, on the caller's thread, so that a bad url or an unreachable
  // server stops start-up with a clear error instead of failing every job.
  auto setup = make_setup(cfg.workers, cfg.queue, cfg.job_timeout_ms,
                          [&](int i, const std::shared_ptr<job_control>& control) {
                            auto conn = open_driver(url, control);
                            if (i == 0)
                              apply_migrations(*conn, migrations);
                            return conn;
                          });
  return pool(spawn_pool_actor(sys, std::move(setup)), url.kind);
}

pool pool::start_blocking(caf::actor_system& sys, const blocking_config& cfg) {
  if (cfg.threads < 1 || cfg.queue < 0 || cfg.job_timeout_ms < 1)
    throw failure(errc::invalid_argument, "[blocking] needs threads >= 1, queue >= 0 and job_timeout_ms >= 1");
  auto setup = make_setup(cfg.threads, cfg.queue, cfg.job_timeout_ms,
                          [](int, const std::shared_ptr<job_control>& control) { return open_none(control); });
  return pool(spawn_pool_actor(sys, std::move(setup)), backend::none);
}

pool::pool(pool&& other) noexcept : actor_(std::move(other.actor_)), kind_(other.kind_) {
  other.actor_ = nullptr;
}

pool& pool::operator=(pool&& other) noexcept {
  if (this != &other) {
    stop();
    actor_ = std::move(other.actor_);
    kind_ = other.kind_;
    other.actor_ = nullptr;
  }
  return *this;
}

pool::~pool() {
  stop();
}

void pool::stop() {
  if (!actor_)
    return;
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
  actor_ = nullptr;
}

}  // namespace troupe::db
