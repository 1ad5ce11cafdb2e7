#include "schema.hpp"

#include <troupe/api_keys.hpp>
#include <troupe/request_log_writer.hpp>

namespace troupe::cli {

std::vector<troupe::db::migration> migrations(const definition& def, const troupe::config& cfg) {
  std::vector<troupe::db::migration> all = def.migrations;
  for (auto part : {troupe::api_key_migrations(cfg.database.url), troupe::request_log_migrations(cfg.database.url)})
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

}  // namespace troupe::cli
