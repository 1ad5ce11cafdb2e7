// How a handler ends a call with a status other than OK, and troupe::result:
// a value or the status instead of it — the one shape every handler's
// outcome has, whether a plain function returns it, a sync handler
// (troupe::blocking) returns it, or a call's database job hands it back to
// the actor (self.db(pool, work, [](troupe::result<T> r) { ... })).
//
//   return troupe::not_found("no user " + std::to_string(id));   // from a function
//   throw troupe::status_error(grpc::StatusCode::PERMISSION_DENIED, "staff only");
//   self.reply(r);                                               // a result: its value, or its status
//
// Any other exception escaping a handler finishes the call with INTERNAL and a
// log line; its text never reaches the client. (troupe::db::outcome is the
// database layer's own, for actors outside a call that use db::run; it knows
// no gRPC status.)
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include <grpcpp/support/status.h>

namespace troupe {

using status = grpc::Status;
using status_code = grpc::StatusCode;

// Thrown from a handler: the call finishes with this status.
class status_error : public std::runtime_error {
public:
  status_error(status_code code, const std::string& message)
      : std::runtime_error(message), status_(code, message) {}
  explicit status_error(status s) : std::runtime_error(s.error_message()), status_(std::move(s)) {}
  const status& get() const noexcept { return status_; }

private:
  status status_;
};

inline status invalid_argument(std::string msg) { return {status_code::INVALID_ARGUMENT, std::move(msg)}; }
inline status not_found(std::string msg) { return {status_code::NOT_FOUND, std::move(msg)}; }
inline status already_exists(std::string msg) { return {status_code::ALREADY_EXISTS, std::move(msg)}; }
inline status permission_denied(std::string msg) { return {status_code::PERMISSION_DENIED, std::move(msg)}; }
inline status unauthenticated(std::string msg) { return {status_code::UNAUTHENTICATED, std::move(msg)}; }
inline status failed_precondition(std::string msg) { return {status_code::FAILED_PRECONDITION, std::move(msg)}; }
inline status resource_exhausted(std::string msg) { return {status_code::RESOURCE_EXHAUSTED, std::move(msg)}; }
inline status unavailable(std::string msg) { return {status_code::UNAVAILABLE, std::move(msg)}; }

// How a feed ends when the server starts draining (troupe::draining): the
// client should reconnect, to another instance or after the restart.
inline status shutting_down() { return unavailable("server shutting down; reconnect"); }

// A value or the status that replaces it: what a plain handler returns, what
// a blocking handler returns, and what a call's database job hands back
// (self.db). Converts from either, so a handler may `return response;` or
// `return troupe::not_found("...");`.
template <class T>
class result {
public:
  result(T value) : value_(std::move(value)) {}
  result(status s) : value_(std::move(s)) {
    if (std::get<status>(value_).ok())
      value_ = status{status_code::INTERNAL, "handler returned OK without a response"};
  }

  bool ok() const noexcept { return std::holds_alternative<T>(value_); }
  explicit operator bool() const noexcept { return ok(); }

  // The value; throws status_error with the status when there is none, so a
  // handler that throws it on ends its call with that status.
  T& value() {
    if (!ok())
      throw status_error(error());
    return std::get<T>(value_);
  }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }

  // Precondition: !ok().
  const status& error() const { return std::get<status>(value_); }

private:
  std::variant<T, status> value_;
};

// Success without a value (a write that returns nothing), or the status.
template <>
class result<void> {
public:
  result() = default;
  result(status s) : status_(std::move(s)) {}

  bool ok() const noexcept { return status_.ok(); }
  explicit operator bool() const noexcept { return ok(); }
  const status& error() const { return status_; }

private:
  status status_;
};

}  // namespace troupe
