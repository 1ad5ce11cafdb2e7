#pragma once

#include <troupe/config.hpp>

namespace troupe::app {

// Runs the server until SIGTERM or SIGINT, then shuts down gracefully (a
// second signal exits at once). Returns the process exit code.
int serve(const troupe::config& cfg);

}  // namespace troupe::app
