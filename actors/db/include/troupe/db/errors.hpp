// Database error codes. They carry no gRPC types: the transport maps each code
// to a status (not_found -> NOT_FOUND, busy -> UNAVAILABLE, ...).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace troupe::db {

enum class errc : uint8_t {
  not_found = 1,     // a row the job needed does not exist
  already_exists,    // unique or primary-key violation
  constraint,        // check, foreign-key or not-null violation
  invalid_argument,  // the database rejected a value (bad format, out of range, too long)
  aborted,           // serialisation failure or deadlock: retrying the transaction may succeed
  busy,              // every worker busy and the queue full: refused at once
  unavailable,       // the database cannot be reached or is locked
  deadline,          // the job ran past its deadline and was interrupted
  cancelled,         // the requesting actor went away and the job was interrupted
  internal,          // anything else: bad SQL, wrong column type, a bug
};

const char* to_string(errc code);

// What a failed job reports back.
struct error {
  errc code = errc::internal;
  std::string message;
};

// "already_exists: UNIQUE constraint failed: users.email"
std::string to_string(const error& e);

// Thrown by connection methods inside a job, and by job functions that want a
// specific code (e.g. `throw failure{errc::not_found, "no user 42"}`). Any
// other exception escaping a job becomes `internal`.
class failure : public std::runtime_error {
public:
  failure(errc code, const std::string& message);
  explicit failure(error e);

  errc code() const noexcept { return code_; }
  // The message without the code prefix that what() has.
  const std::string& message() const noexcept { return message_; }

  error to_error() const { return {code_, message_}; }

private:
  errc code_;
  std::string message_;
};

}  // namespace troupe::db
