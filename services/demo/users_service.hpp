#pragma once

#include <troupe/service.hpp>

namespace troupe::services {

// demo.v1.UserService (proto/demo/v1/users.proto) on the pool's database.
// Not authenticated yet: every caller may create and list users.
troupe::service users_service(caf::actor pool);

}  // namespace troupe::services
