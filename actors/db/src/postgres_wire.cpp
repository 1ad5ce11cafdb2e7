#include "postgres_wire.hpp"

#include <charconv>
#include <memory>
#include <type_traits>
#include <variant>

namespace troupe::db {

namespace {

constexpr unsigned bytea_oid = 17;

}  // namespace

wire_params::wire_params(const param* ps, size_t count)
    : text(count), values(count), lengths(count), formats(count) {
  for (size_t i = 0; i < count; ++i) {
    std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          values[i] = nullptr;
        } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, double>) {
          char buf[32];
          auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
          text[i].assign(buf, end);
          values[i] = text[i].c_str();
        } else if constexpr (std::is_same_v<T, std::string_view>) {
          // libpq reads text parameters up to a NUL: copy to terminate.
          text[i].assign(v);
          values[i] = text[i].c_str();
        } else {
          values[i] = v.size ? reinterpret_cast<const char*>(v.data) : "";
          lengths[i] = static_cast<int>(v.size);
          formats[i] = 1;
        }
      },
      ps[i]);
  }
}

size_t pg_row::size() const {
  return static_cast<size_t>(PQnfields(res_));
}

bool pg_row::is_null(size_t i) const {
  return PQgetisnull(res_, 0, col(i)) != 0;
}

int64_t pg_row::get_int64(size_t i) const {
  auto text = get_text(i);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    fail(i, "is not an integer");
  return v;
}

double pg_row::get_double(size_t i) const {
  auto text = get_text(i);
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    fail(i, "is not a number");
  return v;
}

bool pg_row::get_bool(size_t i) const {
  auto text = get_text(i);
  if (text == "t" || text == "true")
    return true;
  if (text == "f" || text == "false")
    return false;
  return get_int64(i) != 0;
}

std::string_view pg_row::get_text(size_t i) const {
  return {PQgetvalue(res_, 0, col(i)), static_cast<size_t>(PQgetlength(res_, 0, col(i)))};
}

blob pg_row::get_blob(size_t i) const {
  auto text = get_text(i);
  if (PQftype(res_, col(i)) != bytea_oid)
    return blob(reinterpret_cast<const std::byte*>(text.data()),
                reinterpret_cast<const std::byte*>(text.data()) + text.size());
  size_t length = 0;
  std::unique_ptr<unsigned char, decltype(&PQfreemem)> bytes(
    PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(res_, 0, col(i))), &length), &PQfreemem);
  if (!bytes)
    fail(i, "is not valid bytea");
  auto* data = reinterpret_cast<const std::byte*>(bytes.get());
  return blob(data, data + length);
}

bool connection_lost(std::string_view sqlstate) {
  return sqlstate.empty() || (sqlstate.substr(0, 2) == "08" && sqlstate != "08P01") || sqlstate == "57P01" ||
         sqlstate == "57P02" || sqlstate == "57P03";
}

errc code_for_sqlstate(std::string_view sqlstate) {
  if (connection_lost(sqlstate))
    return errc::unavailable;
  if (sqlstate == "23505")
    return errc::already_exists;
  if (sqlstate.substr(0, 2) == "23")
    return errc::constraint;
  if (sqlstate.substr(0, 2) == "22")
    return errc::invalid_argument;
  if (sqlstate == "40001" || sqlstate == "40P01")
    return errc::aborted;
  if (sqlstate == "57014")
    return errc::cancelled;
  if (sqlstate.substr(0, 2) == "53" || sqlstate == "55P03")
    return errc::unavailable;
  return errc::internal;
}

}  // namespace troupe::db
