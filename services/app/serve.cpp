#include "serve.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <troupe/actor_system.hpp>
#include <troupe/api_keys.hpp>
#include <troupe/db/pool.hpp>
#include <troupe/request_log_writer.hpp>
#include <troupe/server.hpp>

#include "bench/bench_service.hpp"
#include "reflection/reflection_service.hpp"
#include "schema.hpp"

namespace troupe::cli {

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// How long shutdown waits for the request log's last rows.
constexpr auto request_log_flush_timeout = std::chrono::seconds(5);

// How long shutdown waits for the last API-key usage counts.
constexpr auto usage_flush_timeout = std::chrono::seconds(5);

// An open server is fine for a first run, never by accident in production.
void warn_if_open(const definition& def, const troupe::config& cfg) {
  if (!cfg.auth.checks_keys())
    spdlog::warn("[auth] is off: API keys are not checked and every call is let through "
                 "(set [auth] require_auth = true and create keys with `{} apikey create`)",
                 def.name);
  else if (!cfg.auth.require_auth)
    spdlog::warn("[auth] require_auth is off: calls without an API key are let through anonymously");
  if (cfg.server.bench_service)
    spdlog::warn("[server] bench_service is on: bench.v1.Bench is served, whose calls allocate up to "
                 "max_send_message_bytes each and can hold database workers (for load tests only)");
}

// One line with what the flags and environment most often change.
void log_settings(const troupe::config& cfg) {
  auto on = [](bool b) { return b ? "on" : "off"; };
  spdlog::info("settings: scheduler threads {} ({}), database workers {}, reflection {}, "
               "health {}, tls {}, debug {}, log level {}",
               cfg.scheduler.max_threads == 0 ? std::string("per core")
                                              : std::to_string(cfg.scheduler.max_threads),
               cfg.scheduler.policy, cfg.database.workers, on(cfg.server.reflection),
               on(cfg.server.health_check), on(cfg.tls.enabled()), on(cfg.server.debug),
               cfg.logging.level);
}

}  // namespace

int serve(const definition& def, const troupe::config& cfg) {
  // Blocked before any thread starts, so only sigwait below sees them.
  sigset_t signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  caf::actor_system_config caf_cfg;
  apply_scheduler_config(cfg.scheduler, caf_cfg);
  caf::actor_system sys{caf_cfg};

  // Opened before the port is taken: a database that cannot be used stops
  // start-up in one line. (Services that need it get pool.actor().)
  std::optional<troupe::db::pool> pool;
  try {
    pool.emplace(troupe::db::pool::start(sys, cfg.database, migrations(def, cfg)));
  } catch (const troupe::db::failure& e) {
    std::cerr << prefix(def) << "[database] " << e.what() << std::endl;
    return 1;
  }
  // For troupe::blocking(fn) handlers.
  troupe::blocking_pool blocking{sys, cfg.blocking};

  // With request_log errors|all, the logged calls also go to the request_log table.
  auto log_mode = troupe::parse_request_log(cfg.logging.request_log);
  std::optional<troupe::request_log_writer> writer;
  troupe::server srv{sys, cfg.server, cfg.tls};
  if (log_mode != troupe::request_log::off) {
    troupe::request_log_writer::options opts;
    opts.retention = std::chrono::hours(24) * cfg.logging.request_log_retention_days;
    writer.emplace(sys, pool->actor(), opts);
    srv.set_request_log(log_mode, [w = *writer](const troupe::call_record& r) { w.record(r); });
  }
  std::shared_ptr<troupe::api_key_checker> keys;
  if (cfg.auth.checks_keys()) {
    keys = std::make_shared<troupe::api_key_checker>(sys, pool->actor(), cfg.auth);
    srv.set_auth(cfg.auth, keys);
  }
  if (cfg.server.bench_service)
    srv.add(services::bench_service(pool->actor(), cfg.server.max_send_message_bytes));
  try {
    app_context ctx{sys, cfg, pool->actor(), srv};
    if (def.make_services)
      for (auto& svc : def.make_services(ctx))
        srv.add(svc);
  } catch (const std::exception& e) {
    std::cerr << prefix(def) << "services: " << e.what() << std::endl;
    return 1;
  }
  if (cfg.server.reflection)
    services::add_reflection(srv);
  try {
    srv.start();
  } catch (const startup_error& e) {
    std::cerr << prefix(def) << e.what() << std::endl;
    return 1;
  }
  // After start: a start-up failure stays one line.
  warn_if_open(def, cfg);
  log_settings(cfg);
  std::cout << "listening on " << cfg.server.host << ":" << srv.port() << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down (again to exit at once)", strsignal(sig));
  std::thread second([signals, name = def.name] {
    int again = 0;
    if (sigwait(&signals, &again) == 0) {
      std::fprintf(stderr, "%s: second %s, exiting now\n", name.c_str(), strsignal(again));
      std::_Exit(1);
    }
  });
  second.detach();
  srv.shutdown();
  // After the last call is done, before the pool stops: no logged call is lost.
  if (writer && !writer->flush(request_log_flush_timeout))
    spdlog::warn("request log: not every record reached the database");
  if (keys && !keys->flush(usage_flush_timeout))
    spdlog::warn("auth: not every API-key usage count reached the database");
  return 0;
}

}  // namespace troupe::cli
