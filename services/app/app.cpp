// troupe::app: the command line of a Troupe program. Settings come from the
// defaults, then the file, then TROUPE_<SECTION>_<KEY> environment variables,
// then flags; a bad value from any of them is one line.
#include "troupe/app.hpp"

#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include <troupe/db/redact.hpp>

#include "apikey.hpp"
#include "definition.hpp"
#include "logging.hpp"
#include "serve.hpp"

namespace troupe {

namespace {

// A flag's setting, applied after the file and the environment and checked
// by the configuration schema like theirs.
struct flag_setting {
  std::string flag;
  const char* section;
  const char* key;
  std::string value;
};

troupe::config effective_config(const app::definition& def, const std::string& path,
                                const std::vector<flag_setting>& flags) {
  auto cfg = path.empty() ? troupe::parse_config("", "defaults", def.declared)
                          : troupe::load_config(path, def.declared);
  troupe::apply_environment(cfg, troupe::process_environment());
  for (auto& f : flags)
    troupe::set_value(cfg, f.section, f.key, f.value, f.flag);
  troupe::validate(cfg);
  return cfg;
}

}  // namespace

app::app(std::string name) : def_(std::make_unique<definition>()) {
  def_->name = std::move(name);
}

app::~app() = default;

app& app::description(std::string text) {
  def_->description = std::move(text);
  return *this;
}

app& app::migrations(std::vector<db::migration> list) {
  def_->migrations = std::move(list);
  return *this;
}

app& app::services(services_fn make) {
  def_->make_services = std::move(make);
  return *this;
}

app_settings& app::declared() {
  return def_->declared;
}

int app::run(int argc, char** argv) {
  const auto& def = *def_;
  CLI::App cli{def.description.empty() ? def.name : def.name + ": " + def.description, def.name};
  cli.require_subcommand(1);

  std::string config_path;
  std::vector<flag_setting> flags;
  auto* serve = cli.add_subcommand("serve", "Run the server");
  serve->add_option("--config,-c", config_path, "TOML configuration file");
  auto value = [&](const std::string& names, const char* section, const char* key, const std::string& help) {
    auto flag = names.substr(0, names.find(','));
    serve->add_option_function<std::string>(
      names, [&flags, flag, section, key](const std::string& v) { flags.push_back({flag, section, key, v}); },
      help + " ([" + section + "] " + key + ")");
  };
  value("--host", "server", "host", "Listen address");
  value("--port,-p", "server", "port", "Listen port, 0 for any");
  value("--workers", "database", "workers", "Database worker actors");
  value("--threads", "scheduler", "max_threads", "Actor scheduler threads");
  serve->add_flag_callback("--debug", [&] {
    flags.push_back({"--debug", "server", "debug", "true"});
    flags.push_back({"--debug", "logging", "level", "debug"});
  }, "Debug logging, gRPC's own too ([server] debug, [logging] level)");
  serve->add_flag_callback("--no-reflection", [&] { flags.push_back({"--no-reflection", "server", "reflection", "false"}); },
                           "No server reflection ([server] reflection)");
  serve->add_flag_callback("--no-health-check", [&] { flags.push_back({"--no-health-check", "server", "health_check", "false"}); },
                           "No health service ([server] health_check)");

  std::string check_path;
  auto* check = cli.add_subcommand("check-config", "Validate a configuration file (with the "
                                                   "TROUPE_* environment) and print the "
                                                   "effective configuration");
  check->add_option("file", check_path, "TOML configuration file")->required();

  // API keys in the configured database (the server need not be running).
  auto* apikey = cli.add_subcommand("apikey", "Create, list and revoke API keys");
  apikey->require_subcommand(1);
  std::string key_user, key_name, key_prefix;
  std::optional<std::string> key_expires;  // checked by apikey_create, in one line
  auto* create = apikey->add_subcommand("create", "Create a key and print it (once)");
  create->add_option("--user", key_user, "The user the key belongs to (created if new)")->required();
  create->add_option("--name", key_name, "A label for the key");
  create->add_option("--expires", key_expires, "Days until the key expires, 1 to " +
                                                  std::to_string(cli::max_expires_days) + " (default: never)");
  auto* list = apikey->add_subcommand("list", "List keys: prefix, user, use and state");
  auto* revoke = apikey->add_subcommand("revoke", "Revoke the key with this prefix");
  revoke->add_option("prefix", key_prefix, "The key's 8-digit prefix (see list)")->required();
  for (auto* sub : {create, list, revoke})
    sub->add_option("--config,-c", config_path, "TOML configuration file (for [database])");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  try {
    if (*check) {
      // Shown, so without the database password (the output lands in
      // terminals, tickets and CI logs).
      auto cfg = effective_config(def, check_path, {});
      cfg.database.url = db::redact(cfg.database.url);
      std::cout << troupe::to_toml(cfg);
      return 0;
    }
    auto cfg = effective_config(def, config_path, flags);
    if (*apikey) {
      if (*create)
        return cli::apikey_create(def, cfg, key_user, key_name, key_expires);
      if (*list)
        return cli::apikey_list(def, cfg);
      return cli::apikey_revoke(def, cfg, key_prefix);
    }
    cli::setup_logging(def.name, cfg.logging);
    return cli::serve(def, cfg);
  } catch (const troupe::config_error& e) {
    std::cerr << cli::prefix(def) << e.what() << std::endl;
    return 2;
  }
}

}  // namespace troupe
