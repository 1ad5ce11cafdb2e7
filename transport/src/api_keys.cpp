#include "troupe/api_keys.hpp"

#include "key_hash.hpp"
#include "troupe/db/errors.hpp"

namespace troupe {

namespace {

int64_t to_ms(wall_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::optional<wall_clock::time_point> from_ms(std::optional<int64_t> ms) {
  if (!ms)
    return std::nullopt;
  return wall_clock::time_point(std::chrono::duration_cast<wall_clock::duration>(std::chrono::milliseconds(*ms)));
}

// A prefix may be typed by hand: 8 hex digits, either case.
std::string normalised_prefix(const std::string& prefix) {
  std::string out;
  for (char c : prefix) {
    char lower = (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
    if (!((lower >= '0' && lower <= '9') || (lower >= 'a' && lower <= 'f')))
      break;
    out += lower;
  }
  if (out.size() != prefix.size() || out.size() != detail::api_key_prefix_length)
    throw db::failure(db::errc::invalid_argument,
                      "'" + prefix + "' is not a key prefix (the 8 hex digits `troupe apikey list` shows)");
  return out;
}

}  // namespace

std::vector<db::migration> api_key_migrations(const std::string& database_url) {
  std::string id = db::id_column(database_url);
  return {
    {200, "CREATE TABLE users (" + id + ", name TEXT NOT NULL UNIQUE, created_at_ms BIGINT NOT NULL)"},
    {201, "CREATE TABLE api_keys (" + id + ", user_id BIGINT NOT NULL REFERENCES users (id),"
          " prefix TEXT NOT NULL UNIQUE, key_hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
          " created_at_ms BIGINT NOT NULL, expires_at_ms BIGINT, revoked_at_ms BIGINT,"
          " last_used_at_ms BIGINT, request_count BIGINT NOT NULL DEFAULT 0)"},
  };
}

new_api_key create_api_key(db::connection& c, const std::string& user, const std::string& name,
                           std::optional<wall_clock::time_point> expires_at) {
  if (user.empty())
    throw db::failure(db::errc::invalid_argument, "an API key needs a user name");
  const int64_t now = to_ms(wall_clock::now());
  std::optional<int64_t> expires_ms;
  if (expires_at)
    expires_ms = to_ms(*expires_at);
  return c.transaction([&] {
    c.exec("INSERT INTO users (name, created_at_ms) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", user, now);
    auto [user_id] = c.fetch_one<int64_t>("user " + user, "SELECT id FROM users WHERE name = ?", user);
    // Prefixes are unique: a new key whose prefix is taken (1 in 4 billion
    // per existing key) is drawn again.
    for (;;) {
      new_api_key k;
      k.key = detail::random_api_key();
      k.prefix = k.key.substr(0, detail::api_key_prefix_length);
      if (c.query_one<int64_t>("SELECT id FROM api_keys WHERE prefix = ?", k.prefix))
        continue;
      c.exec("INSERT INTO api_keys (user_id, prefix, key_hash, name, created_at_ms, expires_at_ms)"
             " VALUES (?, ?, ?, ?, ?, ?)",
             user_id, k.prefix, detail::api_key_hash(k.key), name, now, expires_ms);
      return k;
    }
  });
}

std::vector<api_key_info> list_api_keys(db::connection& c) {
  std::vector<api_key_info> out;
  c.query("SELECT k.prefix, u.name, k.name, k.created_at_ms, k.expires_at_ms, k.revoked_at_ms,"
          " k.last_used_at_ms, k.request_count FROM api_keys k JOIN users u ON u.id = k.user_id"
          " ORDER BY k.id",
          [&](const db::row& r) {
            auto [prefix, user, name, created, expires, revoked, used, count] =
              r.as<std::string, std::string, std::string, int64_t, std::optional<int64_t>,
                   std::optional<int64_t>, std::optional<int64_t>, int64_t>();
            out.push_back({prefix, user, name, *from_ms(created), from_ms(expires), from_ms(revoked),
                           from_ms(used), count});
          });
  return out;
}

std::string revoke_api_key(db::connection& c, const std::string& prefix) {
  auto p = normalised_prefix(prefix);
  return c.transaction([&] {
    auto [user] = c.fetch_one<std::string>(
      "no API key with prefix " + p, "SELECT u.name FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.prefix = ?", p);
    // Revoking twice keeps the first time.
    c.exec("UPDATE api_keys SET revoked_at_ms = ? WHERE prefix = ? AND revoked_at_ms IS NULL",
           to_ms(wall_clock::now()), p);
    return user;
  });
}

}  // namespace troupe
