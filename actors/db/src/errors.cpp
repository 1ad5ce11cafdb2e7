#include "troupe/db/errors.hpp"

namespace troupe::db {

const char* to_string(errc code) {
  switch (code) {
    case errc::not_found:
      return "not_found";
    case errc::already_exists:
      return "already_exists";
    case errc::constraint:
      return "constraint";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::aborted:
      return "aborted";
    case errc::busy:
      return "busy";
    case errc::unavailable:
      return "unavailable";
    case errc::deadline:
      return "deadline";
    case errc::cancelled:
      return "cancelled";
    case errc::internal:
      return "internal";
  }
  return "unknown";
}

std::string to_string(const error& e) {
  return std::string(to_string(e.code)) + ": " + e.message;
}

failure::failure(errc code, const std::string& message)
    : std::runtime_error(to_string(error{code, message})), code_(code), message_(message) {}

failure::failure(error e) : failure(e.code, e.message) {}

}  // namespace troupe::db
