#include "migrations.hpp"

#include <algorithm>

namespace troupe::db {

std::string id_column(const std::string& database_url) {
  if (database_url.rfind("sqlite:", 0) == 0)
    return "id INTEGER PRIMARY KEY";
  return "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";
}

namespace {

// Serialises concurrent start-ups on PostgreSQL (SQLite's BEGIN IMMEDIATE
// already does): any constant works as long as it is always the same one.
constexpr int64_t migration_lock_key = 0x74726f757065;  // "troupe"

void apply_one(driver& c, const migration& m) {
  c.transaction([&] {
    if (c.kind() == backend::postgresql)
      c.exec("SELECT pg_advisory_xact_lock(?)", migration_lock_key);
    c.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
           "version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)");
    // Checked under the lock: another process may have applied it meanwhile.
    if (c.query_one<int64_t>("SELECT version FROM schema_migrations WHERE version = ?", m.version))
      return;
    c.exec_script(m.sql);
    c.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, CURRENT_TIMESTAMP)", m.version);
  });
}

}  // namespace

void apply_migrations(driver& c, std::vector<migration> migrations) {
  std::sort(migrations.begin(), migrations.end(),
            [](const migration& a, const migration& b) { return a.version < b.version; });
  for (size_t i = 0; i < migrations.size(); ++i) {
    auto version = migrations[i].version;
    if (version <= 0)
      throw failure(errc::invalid_argument, "migration version " + std::to_string(version) + " is not positive");
    if (i > 0 && migrations[i - 1].version == version)
      throw failure(errc::invalid_argument, "migration version " + std::to_string(version) + " appears twice");
  }
  for (const auto& m : migrations) {
    try {
      apply_one(c, m);
    } catch (const failure& f) {
      throw failure(f.code(), "migration " + std::to_string(m.version) + " failed: " + f.message());
    }
  }
}

}  // namespace troupe::db
