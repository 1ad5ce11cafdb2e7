#include "troupe/server.hpp"

#include <chrono>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include "grpc_log.hpp"
#include "server_core.hpp"
#include "troupe/detail/call_endpoint.hpp"

namespace troupe {

namespace {

// Calls each transport thread keeps posted for acceptance, so a burst of new
// calls never waits for a slot.
constexpr int accepts_per_queue = 256;

std::string listen_address(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos && host.front() != '[';
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

void serve_queue(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok))
    detail::call_endpoint::dispatch(tag, ok);
}

}  // namespace

server::server(caf::actor_system& sys, const server_config& cfg)
    : sys_(sys), cfg_(cfg), core_(std::make_shared<detail::server_core>(sys, cfg)) {
  detail::route_grpc_logs();
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

void server::start() {
  if (server_)
    throw std::logic_error("troupe::server::start called twice");
  // Both switches are process-wide in grpc++; they apply to servers built after.
  grpc::EnableDefaultHealthCheckService(cfg_.health_check);
  if (cfg_.reflection) {
    static const bool once = (grpc::reflection::InitProtoReflectionServerBuilderPlugin(), true);
    (void)once;
  }
  grpc::ServerBuilder builder;
  auto address = listen_address(cfg_.host, cfg_.port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port_);
  // gRPC enables SO_REUSEPORT by default: a second server would "bind" a port
  // in use and steal its calls. Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, cfg_.max_concurrent_streams);
  builder.SetMaxReceiveMessageSize(cfg_.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(cfg_.max_send_message_bytes);
  builder.RegisterAsyncGenericService(&core_->generic);
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
      serve_queue(cq.get());
    }
    cqs_.clear();
    stopped_ = true;
    throw startup_error("cannot listen on " + address + ": address in use or not available");
  }
  if (auto* health = server_->GetHealthCheckService()) {
    for (auto& name : service_names_)
      health->SetServingStatus(name, true);
  }
  for (auto& cq : cqs_) {
    for (int i = 0; i < accepts_per_queue; ++i)
      core_->post_accept(cq.get());
    threads_.emplace_back(serve_queue, cq.get());
  }
  spdlog::info("listening on {}", listen_address(cfg_.host, port_));
}

void server::shutdown() {
  if (stopped_ || !server_)
    return;
  stopped_ = true;
  core_->shutting_down = true;
  if (auto* health = server_->GetHealthCheckService())
    health->SetServingStatus(false);
  auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::duration<double>(cfg_.shutdown_grace_s));
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

server::counters server::stats() const {
  return {core_->inflight.load(), core_->endpoints.load(), core_->rejected.load()};
}

}  // namespace troupe
