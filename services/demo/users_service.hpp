#pragma once

#include <troupe/service.hpp>

namespace troupe::services {

// demo.v1.UserService (proto/demo/v1/users.proto) on the pool's database.
// With `require_user` (the server checks API keys), every method refuses
// anonymous calls with UNAUTHENTICATED even when [auth] lets them through.
troupe::service users_service(caf::actor pool, bool require_user = false);

}  // namespace troupe::services
