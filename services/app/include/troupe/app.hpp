// A Troupe program: the whole `troupe` command line for your own services.
//
//   int main(int argc, char** argv) {
//     troupe::app app{"notes"};   // program name in --help, errors and logs
//     app.migrations({{1001, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"}});
//     app.setting("notes", "max_body", int64_t{4096});   // [notes] max_body in the TOML file
//     app.services([](troupe::app_context& ctx) {       // once the database pool is open
//       return std::vector<troupe::service>{notes_service(ctx.db(), ctx.setting<int64_t>("notes", "max_body"))};
//     });
//     return app.run(argc, argv);  // serve | check-config | apikey ... | --help
//   }
//
// `run` reads the configuration (defaults, the TOML file, TROUPE_<SECTION>_<KEY>
// variables, flags; a bad value is one line naming file, line and key), opens
// the database pool and applies the migrations (yours, with those of API keys
// and the request log), then serves your services with API-key auth, the
// request log, health and reflection as configured, until SIGTERM or SIGINT,
// when it drains gracefully. The commands:
//
//   NAME serve [--config F] [--host H] [--port P] [--debug] [--no-reflection]
//              [--no-health-check] [--workers N] [--threads N]
//   NAME check-config F          the effective configuration, password hidden
//   NAME apikey create --user U [--name L] [--expires DAYS] [--config F]
//   NAME apikey list [--config F]
//   NAME apikey revoke PREFIX [--config F]
//
// Migration versions 200 to 999 are Troupe's own (API keys, the request log);
// number yours from 1000.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "troupe/blocking.hpp"
#include "troupe/call_actor.hpp"
#include "troupe/config.hpp"
#include "troupe/db/connection.hpp"
#include "troupe/db/migration.hpp"
#include "troupe/server.hpp"
#include "troupe/service.hpp"
#include "troupe/status.hpp"

namespace troupe {

// What a program's services are built from, while the server starts.
class app_context {
public:
  app_context(caf::actor_system& sys, const troupe::config& cfg, caf::actor db, troupe::server& srv)
      : sys_(sys), cfg_(cfg), db_(std::move(db)), srv_(srv) {}

  // The database pool: for self.db(ctx.db(), ...) and troupe::blocking(ctx.db(), fn).
  const caf::actor& db() const { return db_; }
  caf::actor_system& system() const { return sys_; }
  // The effective configuration, your own sections included.
  const troupe::config& config() const { return cfg_; }
  // For set_serving (health) and the like; the services are added by the app.
  troupe::server& server() const { return srv_; }

  // One of your settings (app::setting): the default, or what the file, the
  // environment or a flag gave it.
  template <class T>
  const T& setting(std::string_view section, std::string_view key) const {
    return cfg_.app.get<T>(section, key);
  }

private:
  caf::actor_system& sys_;
  const troupe::config& cfg_;
  caf::actor db_;
  troupe::server& srv_;
};

class app {
public:
  using services_fn = std::function<std::vector<service>(app_context&)>;

  // `name`: the program's name, as in --help, errors ("notes: ...") and logs.
  explicit app(std::string name);
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  // One line under the name in --help.
  app& description(std::string text);

  // Your schema migrations (db/migration.hpp), applied at start-up by serve
  // and apikey alike, so both open the same database the same way.
  app& migrations(std::vector<db::migration> list);

  // Builds your services once the pool is open; called once, by serve. An
  // exception from it (a registration that does not match its .proto, say)
  // stops start-up in one line.
  app& services(services_fn make);

  // Declares [section] key with its default, whose type is the key's: bool,
  // int64_t (or int), double, std::string (or const char*), or
  // std::vector<std::string>. It is read and checked like Troupe's own keys
  // (an unknown key in your section is `file:line:col: [notes] key: unknown
  // key`), TROUPE_<SECTION>_<KEY> sets it too, and check-config prints it.
  // `check` returns an error text for a bad value, empty when fine.
  template <class T>
  app& setting(std::string section, std::string key, T default_value,
               std::function<std::string(const app_settings::type_of<T>&)> check = {}) {
    declared().declare(std::move(section), std::move(key), std::move(default_value), std::move(check));
    return *this;
  }

  // Parses the command line and runs the command. Returns the process's exit
  // code: 0, 1 when serving or a command failed, 2 for a bad configuration.
  int run(int argc, char** argv);

  struct definition;

private:
  app_settings& declared();

  std::unique_ptr<definition> def_;
};

}  // namespace troupe
