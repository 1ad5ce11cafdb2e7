// What a job delivers to its requester: its value or an error.
#pragma once

#include <utility>
#include <variant>

#include "troupe/db/errors.hpp"

namespace troupe::db {

template <class T>
class outcome {
public:
  outcome(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  outcome(db::error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // The value; throws failure with the error when there is none.
  T& value() {
    if (!ok())
      throw failure(error());
    return std::get<0>(v_);
  }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }

  // Precondition: !ok().
  const db::error& error() const { return std::get<1>(v_); }

private:
  std::variant<T, db::error> v_;
};

// A job that returns nothing.
template <>
class outcome<void> {
public:
  outcome() = default;
  outcome(db::error e) : error_(std::move(e)), failed_(true) {}

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const db::error& error() const { return error_; }

private:
  db::error error_;
  bool failed_ = false;
};

}  // namespace troupe::db
