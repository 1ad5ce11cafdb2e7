#include "troupe/db/connection.hpp"
#include "troupe/db/row.hpp"

namespace troupe::db {

void row::fail(size_t column, const char* what) {
  throw failure(errc::internal, "result column " + std::to_string(column) + " " + what);
}

const char* to_string(backend b) {
  return b == backend::sqlite ? "sqlite" : "postgresql";
}

}  // namespace troupe::db
