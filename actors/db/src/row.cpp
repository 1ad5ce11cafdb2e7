#include "troupe/db/connection.hpp"
#include "troupe/db/row.hpp"

namespace troupe::db {

void row::fail(size_t column, const char* what) {
  throw failure(errc::internal, "result column " + std::to_string(column) + " " + what);
}

const char* to_string(backend b) {
  switch (b) {
    case backend::sqlite:
      return "sqlite";
    case backend::postgresql:
      return "postgresql";
    case backend::none:
      break;
  }
  return "none";
}

}  // namespace troupe::db
