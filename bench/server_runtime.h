// What the two raw reference servers share: their command line, the listening
// port (refused when taken), the "listening on" line and a clean stop on
// SIGTERM/SIGINT. Kept apart so both servers differ only in how they serve calls.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

namespace bench {

struct server_options {
  std::string host = "127.0.0.1";
  int port = 50051;
  // Completion-queue threads; 0 means one per core the process may use.
  int threads = 0;
  // Calls of each method waiting for a client per completion queue.
  int prepost = 128;
};

// Parses argv; on --help or an error, prints and returns false with exit_code set.
bool parse_server_options(int argc, char** argv, const std::string& description, bool with_prepost,
                          server_options& out, int& exit_code);

// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts
// later, so that only wait_for_stop_signal() sees them. Call before gRPC starts.
void block_stop_signals();

// Adds the listening port (without SO_REUSEPORT, so a taken port is an error
// instead of two servers sharing it) and starts the server. On failure prints
// one line to stderr and returns null. `port` receives the real port.
std::unique_ptr<grpc::Server> build_and_start(grpc::ServerBuilder& builder,
                                              const server_options& opts, int& port);

// The line scripts wait for before they send traffic.
void announce_listening(const server_options& opts, int port);

void wait_for_stop_signal();

// How long calls in flight get to finish once a stop signal arrived.
inline constexpr std::chrono::milliseconds shutdown_grace{500};

// Request metadata `bench-delay-ms: N` (contract of bench.proto); 0 when absent or invalid.
int requested_delay_ms(const grpc::ServerContextBase& ctx);

// Largest `size` a ServerStream request may ask for: the default largest
// message a gRPC client accepts. Larger requests get INVALID_ARGUMENT instead of
// allocating whatever a client asks for.
inline constexpr int max_stream_message_bytes = 4 * 1024 * 1024;

}  // namespace bench
