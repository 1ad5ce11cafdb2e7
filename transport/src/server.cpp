#include "troupe/server.hpp"

#include <sys/resource.h>

#include <chrono>
#include <climits>

#include <absl/synchronization/mutex.h>
#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "grpc_log.hpp"
#include "health.hpp"
#include "server_core.hpp"
#include "server_credentials.hpp"
#include "troupe/detail/call_endpoint.hpp"

namespace troupe {

namespace {

// Accepts each transport thread keeps posted per method, and for unknown
// paths. Each accepted call posts the next at once; a burst beyond these waits
// inside gRPC for a moment, not refused.
constexpr int accepts_per_method = 16;
constexpr int accepts_for_unknown = 2;

std::string listen_address(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos && host.front() != '[';
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

int milliseconds(double seconds) {
  return static_cast<int>(seconds * 1000);  // the schema keeps it below INT_MAX
}

// Keepalive, connection limits and message sizes as gRPC channel arguments.
void add_connection_args(grpc::ServerBuilder& builder, const server_config& cfg) {
  // gRPC enables SO_REUSEPORT by default: a second server would "bind" a port
  // in use and steal its calls. Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, cfg.max_concurrent_streams);
  builder.SetMaxReceiveMessageSize(cfg.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(cfg.max_send_message_bytes);
  // Identity only. gRPC 1.51 inflates a compressed message whole before it
  // compares the size with the limit above: 255 KB of gzip (256 MiB of
  // zeros) raised the server's peak RSS by 274 MiB before the call got
  // RESOURCE_EXHAUSTED. With every algorithm disabled, gRPC refuses a
  // compressed call when its headers arrive, with UNIMPLEMENTED ("Compression
  // algorithm 'gzip' is disabled"), and inflates nothing (+72 KiB for three).
  for (int a = GRPC_COMPRESS_NONE + 1; a < GRPC_COMPRESS_ALGORITHMS_COUNT; ++a)
    builder.SetCompressionAlgorithmSupportStatus(static_cast<grpc_compression_algorithm>(a), false);
  // Clients' pings are answered, never counted as strikes. gRPC 1.51 sends
  // GOAWAY too_many_pings after two strikes, but then takes each further
  // PING of the same read as one more strike and runs its GOAWAY and close
  // path again (~7 KB of memory apiece): 170 KB of PINGs on one connection
  // took the server's RSS up by ~60 MB, three connections in a row by ~125 MB
  // (tests/abuse). Without strikes a flood costs only its answers, and gRPC
  // stops reading a connection with 10,000 answers unsent.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  if (cfg.keepalive_time_s > 0) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, milliseconds(cfg.keepalive_time_s));
    // Otherwise gRPC stops pinging an idle connection after two pings.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  } else {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, INT_MAX);
  }
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, milliseconds(cfg.keepalive_timeout_s));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
                             cfg.keepalive_permit_without_calls ? 1 : 0);
  if (cfg.max_connection_idle_s > 0)
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, milliseconds(cfg.max_connection_idle_s));
  if (cfg.max_connection_age_s > 0)
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, milliseconds(cfg.max_connection_age_s));
}

// gRPC 1.51's listener stops accepting for good the first time accept() fails
// for lack of file descriptors (CVE-2023-4785; tests/abuse): with Debian's
// default soft limit of 1,024, about a thousand idle connections would leave
// the server deaf to new ones. Every descriptor the process may have is
// granted instead; the hard limit stays the bound.
void raise_descriptor_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max)
    return;
  auto was = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
    spdlog::info("open file limit raised from {} to {}", was, lim.rlim_max);
  else
    spdlog::warn("open file limit stays at {} (hard limit {})", was, lim.rlim_max);
}

void serve_queue(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok))
    detail::call_endpoint::dispatch(tag, ok);
}

}  // namespace

server::server(caf::actor_system& sys, const server_config& cfg, const tls_config& tls)
    : cfg_(cfg),
      tls_(tls),
      core_(std::make_shared<detail::server_core>(sys, cfg)),
      health_(std::make_shared<detail::health_state>()) {
  detail::route_grpc_logs();
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock
  // detection on: every lock gRPC takes then also updates one process-wide
  // lock graph under a global lock (measured: 2-3 % of a unary call's CPU).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

server::~server() {
  shutdown();
}

server& server::add(const service& svc) {
  if (server_)
    throw std::logic_error("troupe::server::add after start");
  for (auto& m : svc.methods()) {
    if (!core_->methods.emplace(m.path, m).second)
      throw std::invalid_argument(m.path + ": registered twice");
  }
  service_names_.push_back(svc.name());
  return *this;
}

void server::set_request_log(request_log mode, std::function<void(const call_record&)> observer) {
  if (server_)
    throw std::logic_error("troupe::server::set_request_log after start");
  core_->log_mode = mode;
  core_->call_observer = std::move(observer);
}

void server::set_auth(const auth_config& cfg, std::shared_ptr<key_checker> checker) {
  if (server_)
    throw std::logic_error("troupe::server::set_auth after start");
  if (!cfg.checks_keys()) {
    core_->auth.reset();
    return;
  }
  if (!checker)
    throw std::invalid_argument("troupe::server::set_auth: [auth] is on but there is no key checker");
  core_->auth = std::make_unique<detail::auth_gate>(cfg, std::move(checker));
}

void server::start() {
  if (server_)
    throw std::logic_error("troupe::server::start called twice");
  auto credentials = detail::server_credentials(tls_);  // before anything starts
  // Process-wide in grpc++, like the health switch; only ever raised, so one
  // server asking for gRPC's debug lines does not silence another's.
  if (cfg_.debug)
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
  if (cfg_.health_check)
    add(detail::health_service(health_));
  raise_descriptor_limit();
  grpc::ServerBuilder builder;
  auto address = listen_address(cfg_.host, cfg_.port);
  builder.AddListeningPort(address, credentials, &port_);
  add_connection_args(builder, cfg_);
  for (auto& entry : core_->methods)
    core_->raw.add(entry.second);
  if (core_->raw.size() > 0)
    builder.RegisterService(&core_->raw);
  builder.RegisterAsyncGenericService(&core_->unknown);
  int threads = cfg_.transport_threads > 0 ? cfg_.transport_threads
                                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i)
    cqs_.push_back(builder.AddCompletionQueue());
  {
    detail::quiet_grpc_logs quiet;  // a bind failure is reported below, in one line
    server_ = builder.BuildAndStart();
  }
  if (!server_ || port_ == 0) {
    detail::quiet_grpc_logs quiet;  // gRPC notes the queues outlived no server
    server_.reset();
    for (auto& cq : cqs_) {
      cq->Shutdown();
      void* tag;
      bool ok;
      while (cq->Next(&tag, &ok)) {
      }  // nothing was posted: drains at once
    }
    cqs_.clear();
    stopped_ = true;
    throw startup_error("cannot listen on " + address + ": address in use or not available" +
                        (tls_.enabled() ? ", or [tls] cert and key do not match" : ""));
  }
  health_->set("", true);
  for (auto& name : service_names_)
    health_->set(name, true);
  for (auto& cq : cqs_) {
    for (int index = 0; index < core_->raw.size(); ++index) {
      for (int i = 0; i < accepts_per_method; ++i)
        core_->post_accept(cq.get(), index);
    }
    for (int i = 0; i < accepts_for_unknown; ++i)
      core_->post_accept(cq.get(), -1);
    threads_.emplace_back(serve_queue, cq.get());
  }
  spdlog::info("listening on {}{}", listen_address(cfg_.host, port_),
               !tls_.enabled()                ? " (plaintext)"
               : tls_.require_client_cert     ? " (TLS, client certificates required)"
               : !tls_.client_ca.empty()      ? " (TLS, client certificates verified if sent)"
                                              : " (TLS)");
}

void server::shutdown() {
  if (stopped_ || !server_)
    return;
  stopped_ = true;
  auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::duration<double>(cfg_.shutdown_grace_s));
  core_->grace_end = std::chrono::steady_clock::now() + grace;
  core_->shutting_down = true;
  health_->set_all(false);
  // After the health updates, so a watcher sees NOT_SERVING before its end.
  // Feeds end now; calls that finish on their own keep the grace.
  core_->calls.drain();
  spdlog::info("shutting down: {} calls in flight, grace {} ms", core_->inflight.load(),
               grace.count());
  // Stops accepting, waits for calls in flight up to the grace, cancels the rest.
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  // Every call's done notification must be handled before the queues close:
  // after it no endpoint starts an operation.
  if (!core_->wait_for_zero(core_->live_calls, std::chrono::seconds(10)))
    spdlog::warn("shutdown: {} calls still not done after cancellation", core_->live_calls.load());
  for (auto& cq : cqs_)
    cq->Shutdown();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
  // Call actors release their endpoints as they quit on cancelled{shutdown}.
  if (!core_->wait_for_zero(core_->endpoints, std::chrono::seconds(10))) {
    // Destroying the server under live calls would be a use-after-free; a
    // leak at exit is the lesser harm, and it is reported.
    spdlog::error("shutdown: {} call actors still hold their calls; leaving them be",
                  core_->endpoints.load());
    (void)server_.release();
    for (auto& cq : cqs_)
      (void)cq.release();
  }
  server_.reset();
  cqs_.clear();
  spdlog::info("shut down");
}

std::vector<std::string> server::service_names() const {
  auto names = service_names_;
  if (cfg_.health_check && !server_)
    names.push_back("grpc.health.v1.Health");  // added by start()
  return names;
}

void server::set_serving(const std::string& service, bool serving) {
  health_->set(service, serving);
}

server::counters server::stats() const {
  return {core_->inflight.load(), core_->endpoints.load(), core_->rejected.load(),
          health_->watchers()};
}

}  // namespace troupe
