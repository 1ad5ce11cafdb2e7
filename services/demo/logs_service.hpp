#pragma once

#include <troupe/service.hpp>

namespace troupe::services {

// demo.v1.LogService (proto/demo/v1/logs.proto): uploads stored in batched
// transactions. Not authenticated yet.
troupe::service logs_service(caf::actor pool);

}  // namespace troupe::services
