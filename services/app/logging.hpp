#pragma once

#include <troupe/config.hpp>

namespace troupe::app {

// The process's log lines from [logging]: to stderr, at `level`, as text or
// one JSON object per line ({"time", "level", "message"}, valid UTF-8: invalid
// bytes in a message become U+FFFD).
void setup_logging(const logging_config& cfg);

}  // namespace troupe::app
