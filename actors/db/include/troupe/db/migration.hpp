// Schema migrations: numbered SQL scripts the application registers. pool::start
// applies the missing ones in version order, each in its own transaction
// together with its row in `schema_migrations`, so a failed migration leaves no
// trace and start-up is idempotent. Concurrent start-ups serialise on a lock
// (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::db {

struct migration {
  int64_t version = 0;  // > 0, unique; never renumber or edit an applied one
  std::string sql;      // one or more statements separated by ';'
};

// A numbered `id` primary key column for CREATE TABLE on the backend of
// `database_url`: SQLite numbers an INTEGER PRIMARY KEY by itself, PostgreSQL
// needs an identity.
std::string id_column(const std::string& database_url);

}  // namespace troupe::db
