#include "schema.hpp"

#include <troupe/api_keys.hpp>
#include <troupe/request_log_writer.hpp>

#include "demo/demo.hpp"

namespace troupe::app {

std::vector<troupe::db::migration> migrations(const troupe::config& cfg) {
  std::vector<troupe::db::migration> all;
  for (auto part : {troupe::services::demo_schema(), troupe::api_key_migrations(cfg.database.url),
                    troupe::request_log_migrations(cfg.database.url)})
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

}  // namespace troupe::app
