// Builds CAF's configuration from Troupe's [scheduler] section.
#pragma once

#include <caf/actor_system_config.hpp>

#include "troupe/config.hpp"

namespace troupe {

// Scheduler policy, thread count and throughput as configured; the policy is
// set as an atom, the only form CAF 0.17 honours.
void apply_scheduler_config(const scheduler_config& sc, caf::actor_system_config& cfg);

}  // namespace troupe
