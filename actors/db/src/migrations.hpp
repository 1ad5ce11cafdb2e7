// Applies an application's schema migrations (see troupe/db/migration.hpp).
#pragma once

#include <vector>

#include "driver.hpp"
#include "troupe/db/migration.hpp"

namespace troupe::db {

// Throws failure{errc::invalid_argument} for a version that is not positive or
// appears twice, or the failing migration's error naming its version.
void apply_migrations(driver& c, std::vector<migration> migrations);

}  // namespace troupe::db
