#pragma once

#include <troupe/service.hpp>

namespace troupe::services {

// demo.v1.EventService (proto/demo/v1/events.proto): events stored in the
// pool's database and pushed live to subscribers through an event hub
// (event_hub.hpp) spawned in `sys`. Not authenticated yet.
troupe::service events_service(caf::actor_system& sys, caf::actor pool);

}  // namespace troupe::services
