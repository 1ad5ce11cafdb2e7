#pragma once

#include <string>

#include <troupe/config.hpp>

namespace troupe::cli {

// The process's log lines from [logging], named `program`: to stderr, at `level`, as text or
// one JSON object per line ({"time", "level", "message"}, valid UTF-8: invalid
// bytes in a message become U+FFFD).
void setup_logging(const std::string& program, const logging_config& cfg);

}  // namespace troupe::cli
