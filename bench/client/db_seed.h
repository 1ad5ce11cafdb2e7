// Users for the db scenario's GetUser calls, created through the service
// itself (demo.v1 CreateUser) before the run starts.
#pragma once

#include "slots.h"

#include <string>
#include <vector>

namespace bench_client {

// Creates `count` users with names and emails unique to this run, a few calls
// at a time over `stubs`. Every reply is checked; the first failure stops the
// seeding and is described in `problem` (the result is then empty).
seeded_users seed_users(const std::vector<std::unique_ptr<channel_stubs>>& stubs, int count,
                        std::string& problem);

}  // namespace bench_client
