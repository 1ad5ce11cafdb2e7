#include "demo_db.hpp"

namespace troupe::services {

int64_t next_id(troupe::db::connection& c, const char* name) {
  auto [id] = c.fetch_one<int64_t>(
    std::string("no counter ") + name,
    "UPDATE demo_counters SET last_id = last_id + 1 WHERE name = ? RETURNING last_id", name);
  return id;
}

std::string octet_length(const troupe::db::connection& c, const char* column) {
  if (c.kind() == troupe::db::backend::sqlite)
    return std::string("length(CAST(") + column + " AS BLOB))";
  return std::string("octet_length(") + column + ")";
}

}  // namespace troupe::services
