// troupe — the server and its admin commands.
//   troupe serve [--config F] [--host H] [--port P]
//   troupe check-config F
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <troupe/config.hpp>

#include "serve.hpp"

namespace {

troupe::config load_or_default(const std::string& path) {
  return path.empty() ? troupe::config{} : troupe::load_config(path);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Troupe: an actor-model gRPC server"};
  app.require_subcommand(1);

  std::string config_path;
  std::string host;
  int port = -1;
  auto* serve = app.add_subcommand("serve", "Run the server");
  serve->add_option("--config,-c", config_path, "TOML configuration file");
  serve->add_option("--host", host, "Listen address (overrides [server] host)");
  serve->add_option("--port,-p", port, "Listen port, 0 for any (overrides [server] port)")
    ->check(CLI::Range(0, 65535));

  std::string check_path;
  auto* check = app.add_subcommand("check-config", "Validate a configuration file and print "
                                                   "the effective configuration");
  check->add_option("file", check_path, "TOML configuration file")->required();

  CLI11_PARSE(app, argc, argv);

  spdlog::set_default_logger(spdlog::stderr_color_mt("troupe"));
  try {
    if (*check) {
      std::cout << troupe::to_toml(troupe::load_config(check_path));
      return 0;
    }
    auto cfg = load_or_default(config_path);
    if (!host.empty())
      cfg.server.host = host;
    if (port >= 0)
      cfg.server.port = port;
    spdlog::set_level(spdlog::level::from_str(cfg.logging.level));
    return troupe::app::serve(cfg);
  } catch (const troupe::config_error& e) {
    std::cerr << "troupe: " << e.what() << std::endl;
    return 2;
  }
}
