#pragma once

#include <optional>
#include <string>

#include <troupe/config.hpp>

#include "definition.hpp"

namespace troupe::cli {

// Longest --expires: 100 years keeps every expiry a date the clock (64-bit
// nanoseconds, to 2262) and the database hold.
inline constexpr int max_expires_days = 36500;

// `NAME apikey create|list|revoke` on the configured database. Each returns
// the process exit code and prints errors as one line on stderr.
// `expires_days` is --expires as given: whole days from 1 to max_expires_days.
int apikey_create(const definition& def, const troupe::config& cfg, const std::string& user, const std::string& name,
                  const std::optional<std::string>& expires_days);
int apikey_list(const definition& def, const troupe::config& cfg);
int apikey_revoke(const definition& def, const troupe::config& cfg, const std::string& prefix);

}  // namespace troupe::cli
