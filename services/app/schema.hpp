#pragma once

#include <vector>

#include <troupe/config.hpp>
#include <troupe/db/migration.hpp>

#include "definition.hpp"

namespace troupe::cli {

// Every schema migration the program's database needs, in one place: serve
// and apikey open the same database the same way. The program's own, then
// API keys' (200..299) and the request log's (300..399).
std::vector<troupe::db::migration> migrations(const definition& def, const troupe::config& cfg);

}  // namespace troupe::cli
