#pragma once

#include <vector>

#include <troupe/config.hpp>
#include <troupe/db/migration.hpp>

namespace troupe::app {

// Every schema migration the server's database needs, in one place: `troupe
// serve` and `troupe apikey` open the same database the same way.
std::vector<troupe::db::migration> migrations(const troupe::config& cfg);

}  // namespace troupe::app
