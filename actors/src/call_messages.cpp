#include "troupe/call_messages.hpp"

namespace troupe {

const char* to_string(cancel_reason r) {
  switch (r) {
    case cancel_reason::cancelled:
      return "cancelled";
    case cancel_reason::deadline:
      return "deadline";
    case cancel_reason::shutdown:
      return "shutdown";
    case cancel_reason::ended:
      return "ended";
  }
  return "unknown";
}

caf::error make_error(cancel_reason r) {
  return {static_cast<uint8_t>(r), error_category};
}

}  // namespace troupe
