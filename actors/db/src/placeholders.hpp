// Translates the API's `?` placeholders into PostgreSQL's $1, $2, ...
#pragma once

#include <string>
#include <string_view>

namespace troupe::db {

// Question marks inside string literals, quoted identifiers, dollar-quoted
// strings and comments are left alone. PostgreSQL operators spelt with `?`
// (jsonb's ?, ?| and ?&) cannot be used; call jsonb_exists() and friends.
struct numbered_sql {
  std::string text;
  int placeholders = 0;
};

numbered_sql number_placeholders(std::string_view sql);

}  // namespace troupe::db
