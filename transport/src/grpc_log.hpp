#pragma once

namespace troupe::detail {

// Sends gRPC's own log lines to spdlog (once per process). While `quiet` is
// set on a thread, its gRPC lines are demoted to debug: the caller reports
// that failure itself, in one line.
void route_grpc_logs();

class quiet_grpc_logs {
public:
  quiet_grpc_logs();
  ~quiet_grpc_logs();
  quiet_grpc_logs(const quiet_grpc_logs&) = delete;
  quiet_grpc_logs& operator=(const quiet_grpc_logs&) = delete;
};

}  // namespace troupe::detail
