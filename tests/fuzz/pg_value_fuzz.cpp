// Decoding PostgreSQL values from text format, as a server (or anything that
// answers on its port) may send them: every typed read of any bytes either
// converts or throws db::failure.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <libpq-fe.h>

#include "postgres_wire.hpp"
#include "troupe/db/errors.hpp"

namespace {

constexpr Oid text_oid = 25;
constexpr Oid bytea_oid = 17;

template <class T>
void read_as(const troupe::db::row& r) {
  try {
    (void)r.get<T>(0);
  } catch (const troupe::db::failure&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  PGresult* res = PQmakeEmptyPGresult(nullptr, PGRES_SINGLE_TUPLE);
  PGresAttDesc column{};
  column.name = const_cast<char*>("value");
  column.typid = (data[0] & 1) ? bytea_oid : text_oid;
  column.typlen = -1;
  column.atttypmod = -1;
  bool null = (data[0] & 2) != 0;
  if (!res || !PQsetResultAttrs(res, 1, &column) ||
      !PQsetvalue(res, 0, 0, null ? nullptr : const_cast<char*>(reinterpret_cast<const char*>(data + 1)),
                  null ? -1 : static_cast<int>(size - 1)))
    __builtin_trap();
  troupe::db::pg_row r(res);
  read_as<int64_t>(r);
  read_as<int32_t>(r);
  read_as<uint16_t>(r);
  read_as<bool>(r);
  read_as<double>(r);
  read_as<std::string>(r);
  read_as<std::string_view>(r);
  read_as<troupe::db::blob>(r);
  read_as<std::optional<int64_t>>(r);
  read_as<std::optional<troupe::db::blob>>(r);
  PQclear(res);
  return 0;
}
