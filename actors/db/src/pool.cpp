#include "troupe/db/pool.hpp"

#include "migrations.hpp"
#include "pool_actor.hpp"
#include "url.hpp"

namespace troupe::db {

pool pool::start(caf::actor_system& sys, const database_config& cfg, const std::vector<migration>& migrations) {
  auto url = parse_url(cfg.url);
  if (cfg.workers < 1 || cfg.queue < 0 || cfg.job_timeout_ms < 1)
    throw failure(errc::invalid_argument, "[database] needs workers >= 1, queue >= 0 and job_timeout_ms >= 1");
  pool_setup setup;
  setup.job_timeout = std::chrono::milliseconds(cfg.job_timeout_ms);
  setup.queue_limit = static_cast<size_t>(cfg.queue);
  // Opened here, on the caller's thread, so that a bad url or an unreachable
  // server stops start-up with a clear error instead of failing every job.
  for (int i = 0; i < cfg.workers; ++i) {
    auto control = std::make_shared<job_control>();
    std::shared_ptr<driver> conn = open_driver(url, control);
    if (i == 0)
      apply_migrations(*conn, migrations);
    setup.workers.push_back({std::move(conn), std::move(control)});
  }
  return pool(spawn_pool_actor(sys, std::move(setup)), url.kind);
}

pool pool::start_blocking(caf::actor_system& sys, const blocking_config& cfg) {
  if (cfg.threads < 1 || cfg.queue < 0 || cfg.job_timeout_ms < 1)
    throw failure(errc::invalid_argument, "[blocking] needs threads >= 1, queue >= 0 and job_timeout_ms >= 1");
  pool_setup setup;
  setup.job_timeout = std::chrono::milliseconds(cfg.job_timeout_ms);
  setup.queue_limit = static_cast<size_t>(cfg.queue);
  for (int i = 0; i < cfg.threads; ++i) {
    auto control = std::make_shared<job_control>();
    std::shared_ptr<driver> conn = open_none(control);
    setup.workers.push_back({std::move(conn), std::move(control)});
  }
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
