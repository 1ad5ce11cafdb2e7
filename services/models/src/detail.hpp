// Helpers shared by the engine's sources.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/db/params.hpp"
#include "troupe/models/model.hpp"

namespace troupe::models::detail {

// The number of code points of valid UTF-8, or nullopt when it is not.
std::optional<int64_t> utf8_length(std::string_view s);

// RFC 3339 text ("2026-01-01T00:00:00Z", any offset, fraction optional) as
// microseconds since the epoch.
std::optional<int64_t> parse_rfc3339(const std::string& text);

// A column's SQL in a comparison or ORDER BY: text compares bytewise on both
// backends (PostgreSQL's database collation would not).
std::string sortable_sql(const column& c, db::backend kind);

// Views of owned values, for connection::query_bound/exec_bound.
std::vector<db::param> params_of(const std::vector<value>& values);

}  // namespace troupe::models::detail
