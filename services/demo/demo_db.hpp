// Database helpers shared by the demo services.
#pragma once

#include <troupe/call_actor.hpp>

namespace troupe::services {

// Ends a unary call with a database job's outcome.
template <class Req, class Resp>
void reply_or_fail(const troupe::unary_actor<Req, Resp>& self, troupe::db::outcome<Resp>& r) {
  if (r.ok())
    self.reply(*r);
  else
    self.fail(troupe::to_status(r.error()));
}

// Hands out the next id of counter `name` (a row of demo_counters). Inside a
// transaction the row stays locked until commit, and a rollback returns the id.
int64_t next_id(troupe::db::connection& c, const char* name);

}  // namespace troupe::services
