#include "apikey.hpp"

#include <charconv>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <caf/all.hpp>

#include <troupe/api_keys.hpp>
#include <troupe/db/pool.hpp>
#include <troupe/db/run.hpp>

#include "schema.hpp"

namespace troupe::cli {

namespace {

constexpr auto patience = std::chrono::seconds(30);

// Opens the server's database (applying migrations, as `serve` does), runs
// `work` on it and hands the value to `print`. Returns the exit code.
template <class Work, class Print>
int with_database(const definition& def, const troupe::config& cfg, Work work, Print print) {
  caf::actor_system_config caf_cfg;
  caf::actor_system sys{caf_cfg};
  auto db_cfg = cfg.database;
  db_cfg.workers = 1;
  using T = troupe::db::work_result_t<Work>;
  std::optional<troupe::db::outcome<T>> result;
  try {
    auto pool = troupe::db::pool::start(sys, db_cfg, migrations(def, cfg));
    caf::scoped_actor self{sys};
    self->request(pool.actor(), patience,
                  troupe::db::job{self.ptr(), troupe::db::clock::time_point::max(),
                                  troupe::db::make_job_function(std::move(work))})
      .receive([&](troupe::db::job_result& r) { result.emplace(troupe::db::to_outcome<T>(r)); },
               [&](caf::error& e) {
                 result.emplace(troupe::db::error{troupe::db::errc::unavailable, sys.render(e)});
               });
  } catch (const troupe::db::failure& e) {
    std::cerr << prefix(def) << "[database] " << e.what() << std::endl;
    return 1;
  }
  if (!*result) {
    std::cerr << prefix(def) << result->error().message << std::endl;
    return 1;
  }
  print(**result);
  return 0;
}

std::string when(std::optional<wall_clock::time_point> t) {
  if (!t)
    return "-";
  auto secs = wall_clock::to_time_t(*t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%d %H:%M:%SZ");
  return out.str();
}

// --expires as a number of days, or nullopt when it is not a whole number
// from 1 to max_expires_days.
std::optional<int> parse_days(const std::string& text) {
  int days = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), days);
  if (ec != std::errc() || end != text.data() + text.size() || days < 1 || days > max_expires_days)
    return std::nullopt;
  return days;
}

const char* state_of(const api_key_info& k) {
  if (k.revoked_at)
    return "revoked";
  if (k.expires_at && *k.expires_at <= wall_clock::now())
    return "expired";
  return "active";
}

}  // namespace

int apikey_create(const definition& def, const troupe::config& cfg, const std::string& user, const std::string& name,
                  const std::optional<std::string>& expires_days) {
  std::optional<wall_clock::time_point> expires;
  if (expires_days) {
    auto days = parse_days(*expires_days);
    if (!days) {
      std::cerr << prefix(def) << "--expires: expected whole days from 1 to " << max_expires_days << " (got '"
                << *expires_days << "')" << std::endl;
      return 2;
    }
    expires = wall_clock::now() + std::chrono::hours(24) * *days;
  }
  return with_database(
    def, cfg, [=](troupe::db::connection& c) { return create_api_key(c, user, name, expires); },
    [&](const new_api_key& k) {
      std::cout << "API key " << k.prefix << " for user " << user
                << (name.empty() ? "" : " (" + name + ")") << ", expires " << (expires ? when(expires) : "never")
                << ".\nIt is shown this once; send it in metadata " << cfg.auth.header << ":\n"
                << k.key << std::endl;
    });
}

int apikey_list(const definition& def, const troupe::config& cfg) {
  return with_database(
    def, cfg, [](troupe::db::connection& c) { return list_api_keys(c); },
    [](const std::vector<api_key_info>& keys) {
      auto row = [](const std::string& prefix, const std::string& user, const std::string& name,
                    const std::string& created, const std::string& expires, const std::string& used,
                    const std::string& requests, const std::string& state) {
        std::cout << std::left << std::setw(10) << prefix << std::setw(16) << user << std::setw(16) << name
                  << std::setw(22) << created << std::setw(22) << expires << std::setw(22) << used
                  << std::setw(10) << requests << state << '\n';
      };
      row("PREFIX", "USER", "NAME", "CREATED", "EXPIRES", "LAST USED", "REQUESTS", "STATE");
      for (auto& k : keys)
        row(k.prefix, k.user, k.name.empty() ? "-" : k.name, when(k.created_at), when(k.expires_at),
            when(k.last_used_at), std::to_string(k.request_count), state_of(k));
      std::cout << std::flush;
    });
}

int apikey_revoke(const definition& def, const troupe::config& cfg, const std::string& prefix) {
  return with_database(
    def, cfg, [=](troupe::db::connection& c) { return revoke_api_key(c, prefix); },
    [&](const std::string& user) {
      std::cout << "API key " << prefix << " of user " << user << " is revoked; servers refuse it within "
                << cfg.auth.cache_ttl_s << " s ([auth] cache_ttl_s)." << std::endl;
    });
}

}  // namespace troupe::cli
