// Bound parameters: the values a statement's `?` placeholders receive. SQL is
// never built from request data; values always travel separately.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "troupe/db/errors.hpp"

namespace troupe::db {

// Binary column values (SQLite BLOB, PostgreSQL bytea).
using blob = std::vector<std::byte>;

struct bytes_view {
  const std::byte* data = nullptr;
  size_t size = 0;
};

// One parameter, viewing the caller's data: valid for the duration of the call
// that binds it. bool binds as 1/0, which both backends accept for booleans.
using param = std::variant<std::nullptr_t, int64_t, double, std::string_view, bytes_view>;

inline param to_param(std::nullptr_t) { return nullptr; }
inline param to_param(std::nullopt_t) { return nullptr; }
inline param to_param(std::string_view s) { return s; }
inline param to_param(const std::string& s) { return std::string_view(s); }
inline param to_param(const char* s) { return std::string_view(s); }
inline param to_param(const blob& b) { return bytes_view{b.data(), b.size()}; }

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>, param> to_param(T x) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(x);
  } else {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t)) {
      if (x > static_cast<T>(std::numeric_limits<int64_t>::max()))
        throw failure(errc::invalid_argument, "parameter out of the 64-bit signed range");
    }
    return static_cast<int64_t>(x);
  }
}

template <class T>
param to_param(const std::optional<T>& x) {
  return x ? to_param(*x) : param{nullptr};
}

}  // namespace troupe::db
