// One result row, seen through a cursor: valid only inside the callback (or
// call) that received it. Columns are numbered from 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "troupe/db/params.hpp"

namespace troupe::db {

class row {
public:
  virtual size_t size() const = 0;
  virtual bool is_null(size_t column) const = 0;

  // Typed access. T is an integer type, bool, float/double, std::string,
  // std::string_view (valid while the row is), blob, or std::optional of one
  // of them (nullopt for NULL). A NULL read as a non-optional, a value that
  // does not convert, or a missing column throws failure{errc::internal}.
  template <class T>
  T get(size_t column) const;

  // All leading columns at once: `auto [id, name] = r.as<int64_t, std::string>();`
  template <class... Ts>
  std::tuple<Ts...> as() const {
    return as_impl<Ts...>(std::index_sequence_for<Ts...>{});
  }

protected:
  ~row() = default;

  // Backend accessors; `column` is in range and the value is not NULL.
  virtual int64_t get_int64(size_t column) const = 0;
  virtual double get_double(size_t column) const = 0;
  virtual bool get_bool(size_t column) const = 0;
  virtual std::string_view get_text(size_t column) const = 0;
  virtual blob get_blob(size_t column) const = 0;

  [[noreturn]] static void fail(size_t column, const char* what);

private:
  template <class T>
  struct is_optional : std::false_type {};
  template <class T>
  struct is_optional<std::optional<T>> : std::true_type {};
  template <class>
  static constexpr bool unsupported = false;

  template <class... Ts, size_t... Is>
  std::tuple<Ts...> as_impl(std::index_sequence<Is...>) const {
    return std::tuple<Ts...>(get<Ts>(Is)...);
  }
};

template <class T>
T row::get(size_t column) const {
  if (column >= size())
    fail(column, "does not exist");
  if constexpr (is_optional<T>::value) {
    if (is_null(column))
      return std::nullopt;
    return get<typename T::value_type>(column);
  } else {
    if (is_null(column))
      fail(column, "is NULL (read it as a std::optional)");
    if constexpr (std::is_same_v<T, bool>) {
      return get_bool(column);
    } else if constexpr (std::is_integral_v<T>) {
      int64_t v = get_int64(column);
      if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          (v > 0 && static_cast<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<T>::max())))
        fail(column, "does not fit the requested integer type");
      return static_cast<T>(v);
    } else if constexpr (std::is_floating_point_v<T>) {
      return static_cast<T>(get_double(column));
    } else if constexpr (std::is_same_v<T, std::string>) {
      return std::string(get_text(column));
    } else if constexpr (std::is_same_v<T, std::string_view>) {
      return get_text(column);
    } else if constexpr (std::is_same_v<T, blob>) {
      return get_blob(column);
    } else {
      static_assert(unsupported<T>, "unsupported column type");
    }
  }
}

}  // namespace troupe::db
