#pragma once

#include <troupe/service.hpp>

namespace troupe::services {

// demo.v1.UserService (proto/demo/v1/users.proto) on the pool's database.
// With `require_user` (the server checks API keys), CreateUser and GetUser
// refuse anonymous calls with UNAUTHENTICATED even when [auth] lets them
// through; StreamUsers stays open to anonymous callers then.
troupe::service users_service(caf::actor pool, bool require_user = false);

}  // namespace troupe::services
