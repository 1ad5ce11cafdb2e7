#include "serve.hpp"

#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <troupe/actor_system.hpp>
#include <troupe/server.hpp>

#include "bench/bench_service.hpp"

namespace troupe::app {

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

int serve(const troupe::config& cfg) {
  // Blocked before any thread starts, so only sigwait below sees them.
  sigset_t signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  caf::actor_system_config caf_cfg;
  apply_scheduler_config(cfg.scheduler, caf_cfg);
  caf::actor_system sys{caf_cfg};

  troupe::server srv{sys, cfg.server};
  srv.add(services::bench_service());
  try {
    srv.start();
  } catch (const startup_error& e) {
    std::cerr << "troupe: " << e.what() << std::endl;
    return 1;
  }
  std::cout << "listening on " << cfg.server.host << ":" << srv.port() << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down (again to exit at once)", strsignal(sig));
  std::thread second([signals] {
    int again = 0;
    if (sigwait(&signals, &again) == 0) {
      std::fprintf(stderr, "troupe: second %s, exiting now\n", strsignal(again));
      std::_Exit(1);
    }
  });
  second.detach();
  srv.shutdown();
  return 0;
}

}  // namespace troupe::app
