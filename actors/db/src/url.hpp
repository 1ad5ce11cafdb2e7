// Parsing of [database] url.
#pragma once

#include <string>

#include "troupe/db/connection.hpp"
#include "troupe/db/redact.hpp"

namespace troupe::db {

struct database_url {
  backend kind = backend::sqlite;
  // The file path for SQLite; the libpq connection URI for PostgreSQL.
  std::string target;
};

// Throws failure{errc::invalid_argument} naming the accepted forms.
database_url parse_url(const std::string& url);

}  // namespace troupe::db
