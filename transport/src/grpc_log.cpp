#include "grpc_log.hpp"

#include <grpc/support/log.h>
#include <spdlog/spdlog.h>

namespace troupe::detail {

namespace {

thread_local bool quiet = false;

void to_spdlog(gpr_log_func_args* args) {
  auto level = spdlog::level::debug;
  if (!quiet && args->severity == GPR_LOG_SEVERITY_ERROR)
    level = spdlog::level::warn;
  else if (!quiet && args->severity == GPR_LOG_SEVERITY_INFO)
    level = spdlog::level::info;
  spdlog::log(level, "grpc: {} ({}:{})", args->message, args->file, args->line);
}

}  // namespace

void route_grpc_logs() {
  static const bool once = (gpr_set_log_function(to_spdlog), true);
  (void)once;
}

quiet_grpc_logs::quiet_grpc_logs() {
  quiet = true;
}

quiet_grpc_logs::~quiet_grpc_logs() {
  quiet = false;
}

}  // namespace troupe::detail
