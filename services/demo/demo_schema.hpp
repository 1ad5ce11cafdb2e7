#pragma once

#include <vector>

#include <troupe/db/migration.hpp>

namespace troupe::services {

// The demo application's tables (migration versions 100..199), for
// troupe::db::pool::start.
std::vector<troupe::db::migration> demo_schema();

}  // namespace troupe::services
