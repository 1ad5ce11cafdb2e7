#pragma once

#include <optional>
#include <string>

#include <troupe/config.hpp>

namespace troupe::app {

// `troupe apikey create|list|revoke` on the configured database. Each returns
// the process exit code and prints errors as one line on stderr.
int apikey_create(const troupe::config& cfg, const std::string& user, const std::string& name,
                  std::optional<int> expires_days);
int apikey_list(const troupe::config& cfg);
int apikey_revoke(const troupe::config& cfg, const std::string& prefix);

}  // namespace troupe::app
