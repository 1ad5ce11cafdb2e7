#pragma once

#include <troupe/config.hpp>

#include "definition.hpp"

namespace troupe::cli {

// Runs the program's server until SIGTERM or SIGINT, then shuts down
// gracefully (a second signal exits at once). Returns the process exit code.
int serve(const definition& def, const troupe::config& cfg);

}  // namespace troupe::cli
