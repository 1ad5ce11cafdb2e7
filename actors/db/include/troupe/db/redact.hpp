// Database urls without their secrets, for messages, logs and
// `troupe check-config`.
#pragma once

#include <string>

namespace troupe::db {

// `url` with every secret libpq would read from it (passwords: in
// `user:pass@`, in `?password=`, as a `password=` keyword) shown as "***".
// libpq parses it (PQconninfoParse), so every form libpq accepts is covered.
// A url without a secret comes back as it is; one with a secret comes back
// rebuilt in the same form from what libpq parsed (a URI as
// `postgresql://user:***@host:port/db?key=value&...`, keywords as
// `key='value' ...`). A sqlite://
// url holds no secret; any other text libpq cannot parse shows only its
// scheme (`mysql://***`), or "***".
std::string redact(const std::string& url);

}  // namespace troupe::db
