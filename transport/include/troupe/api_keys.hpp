// API keys in the database: the `users` and `api_keys` tables, the admin
// operations behind `troupe apikey`, and the key_checker a server uses.
//
//   auto pool = troupe::db::pool::start(sys, cfg.database, troupe::api_key_migrations(url));
//   auto keys = std::make_shared<troupe::api_key_checker>(sys, pool.actor(), cfg.auth);
//   srv.set_auth(cfg.auth, keys);
//   ...
//   srv.shutdown();
//   keys->flush(std::chrono::seconds(5));   // the last usage counts, before the pool stops
//
// A key is 64 hex digits (256 random bits), shown once when created. The
// database keeps its SHA-256 hash and its first 8 digits (the prefix, for
// listing and revoking); a presented key is hashed and compared in constant
// time with the stored hashes of its prefix.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "troupe/auth.hpp"
#include "troupe/config.hpp"
#include "troupe/db/connection.hpp"
#include "troupe/db/migration.hpp"

namespace troupe {

// The `users` and `api_keys` tables (migrations 200 and 201).
std::vector<db::migration> api_key_migrations(const std::string& database_url);

using wall_clock = std::chrono::system_clock;

struct new_api_key {
  std::string key;     // the raw key: shown once, never stored
  std::string prefix;  // its first 8 hex digits
};

struct api_key_info {
  std::string prefix;
  std::string user;
  std::string name;
  wall_clock::time_point created_at;
  std::optional<wall_clock::time_point> expires_at;
  std::optional<wall_clock::time_point> revoked_at;
  std::optional<wall_clock::time_point> last_used_at;
  int64_t request_count = 0;
};

// Admin operations, run as database jobs (they throw db::failure).
// Creates a key for `user` (creating the user if new), valid until `expires_at`.
new_api_key create_api_key(db::connection& c, const std::string& user, const std::string& name,
                           std::optional<wall_clock::time_point> expires_at);
std::vector<api_key_info> list_api_keys(db::connection& c);
// Revokes the one key with this prefix: failure not_found, or invalid_argument
// when the prefix is not 8 hex digits. Returns the key's user.
std::string revoke_api_key(db::connection& c, const std::string& prefix);

// Checks keys against the database for the transport and counts each key's
// use in memory; one actor writes the counts once a second in one
// transaction. A valid key's verdict is trusted for cache_ttl_s (or until
// the key expires); the key stays known valid after that, and its next call
// looks it up again without counting as a guess (see key_checker::check).
// Refused keys are not cached: their look-ups are what the transport
// throttles. At most 100,000 valid keys are remembered (~300 bytes each plus
// the user's name), the least recently used forgotten first; calls waiting
// for a look-up share it.
class api_key_checker : public key_checker {
public:
  api_key_checker(caf::actor_system& sys, caf::actor pool, const auth_config& cfg);
  ~api_key_checker() override;

  std::optional<auth_verdict> check(std::string_view key, const guess_admission& admit, reply later) override;

  // Writes the usage counted so far and stops the writer; waits up to
  // `timeout`. False if the counts did not all reach the database.
  bool flush(std::chrono::milliseconds timeout);

  struct state;

private:
  std::shared_ptr<state> state_;
};

}  // namespace troupe
