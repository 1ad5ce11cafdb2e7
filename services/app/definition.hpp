// What a troupe::app was given, as its commands see it.
#pragma once

#include <string>
#include <vector>

#include <troupe/app.hpp>

namespace troupe {

struct app::definition {
  std::string name;
  std::string description;
  std::vector<db::migration> migrations;
  services_fn make_services;
  app_settings declared;
};

namespace cli {

using definition = app::definition;

// "notes: " — the start of each one-line error.
inline std::string prefix(const definition& def) {
  return def.name + ": ";
}

}  // namespace cli

}  // namespace troupe
