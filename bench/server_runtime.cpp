#include "server_runtime.h"

#include <CLI/CLI.hpp>

#include <absl/synchronization/mutex.h>

#include <grpc/support/log.h>

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

namespace bench {

// Cores this process may run on (taskset narrows them), not the machine's.
static int usable_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

bool parse_server_options(int argc, char** argv, const std::string& description, bool with_prepost,
                          server_options& out, int& exit_code) {
  CLI::App app{description};
  app.add_option("--host", out.host, "address to listen on")->capture_default_str();
  app.add_option("--port", out.port, "TCP port; 0 lets the OS pick one")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  if (with_prepost) {
    app.add_option("--threads", out.threads, "completion queues, one thread each; 0 = one per core")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--prepost", out.prepost, "calls of each method pre-posted per completion queue")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
  } else {
    // Accepted so both servers share one command line; gRPC sizes the
    // callback API's threads itself and offers no knob for it.
    app.add_option("--threads", out.threads,
                   "accepted for a common command line; gRPC sizes its callback threads")
        ->check(CLI::NonNegativeNumber);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return false;
  }
  if (out.threads == 0)
    out.threads = usable_cores();
  return true;
}

static sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

void block_stop_signals() {
  sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void wait_for_stop_signal() {
  sigset_t set = stop_signals();
  int sig = 0;
  sigwait(&set, &sig);
}

static std::atomic<bool> mute_grpc_log{false};

// gRPC's default log function is not public; this one keeps its gist in one line.
static void grpc_log(gpr_log_func_args* args) {
  if (mute_grpc_log)
    return;
  std::fprintf(stderr, "grpc %s %s:%d] %s\n", gpr_log_severity_string(args->severity), args->file,
               args->line, args->message);
}

std::unique_ptr<grpc::Server> build_and_start(grpc::ServerBuilder& builder,
                                              const server_options& opts, int& port) {
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // As troupe::server does (no handicap): Debian's Abseil keeps absl::Mutex
  // deadlock detection on, a global lock graph updated on every lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string address = opts.host + ":" + std::to_string(opts.port);
  port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  // gRPC logs a bind failure as several lines of its own; the one line below
  // says all a user needs, so its log is muted while the port is bound.
  mute_grpc_log = true;
  gpr_set_log_function(grpc_log);
  auto server = builder.BuildAndStart();
  mute_grpc_log = false;
  if (!server || port == 0) {
    std::cerr << "error: cannot listen on " << address << " (port in use or address invalid)\n";
    return nullptr;
  }
  return server;
}

void announce_listening(const server_options& opts, int port) {
  std::printf("listening on %s:%d\n", opts.host.c_str(), port);
  std::fflush(stdout);
}

int requested_delay_ms(const grpc::ServerContextBase& ctx) {
  const auto& md = ctx.client_metadata();
  auto it = md.find("bench-delay-ms");
  if (it == md.end())
    return 0;
  try {
    const int ms = std::stoi(std::string(it->second.data(), it->second.size()));
    return ms > 0 ? ms : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace bench
