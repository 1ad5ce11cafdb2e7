// The configuration schema: every key declared once, with its type, its check
// and how it is printed. Parsing, overrides and printing all go through it,
// for Troupe's keys and for those an application declares (app_settings).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "troupe/config.hpp"

namespace troupe::schema {

struct field {
  std::string section;
  std::string key;
  std::string_view type;  // "integer", "boolean", "number", "string", "array of strings"
  // Stores the node's value; returns an error text, empty when fine.
  std::function<std::string(const toml::node&, config&)> read;
  std::function<void(const config&, toml::table&)> write;
  bool declared = false;  // by the application (config::app), not one of Troupe's
};

// Troupe's own keys, in the order of config/troupe.toml.
const std::vector<field>& fields();
// Troupe's keys, then those `app` declares, in declaration order. A declared
// field reads and writes the config's own `app` (the one it is given), so
// `app` only needs to hold the same declarations.
std::vector<field> fields(const app_settings& app);

const field* find(const std::vector<field>& all, std::string_view section, std::string_view key);
std::vector<std::string_view> sections(const std::vector<field>& all);
std::vector<std::string_view> keys_of(const std::vector<field>& all, std::string_view section);

// TROUPE_<SECTION>_<KEY>, upper-case.
std::string env_name(std::string_view section, std::string_view key);
std::string upper(std::string_view s);

// " (did you mean 'x'?)" for the closest candidate, when it is close enough.
std::string suggestion(std::string_view name, const std::vector<std::string_view>& candidates);

// "string", "integer", ... for the alternative `index` of app_settings::value.
std::string_view type_name_of(std::size_t index);
// "an integer", "a string", ...
std::string a(std::string_view type_name);

// A rule spanning keys that the configuration breaks.
struct violation {
  std::string_view section;
  std::string_view key;
  std::string message;
};
std::optional<violation> first_violation(const config& cfg);

// What the schema needs of app_settings beyond its public face.
struct app_access {
  // The declared setting [section] key of `app`; null when there is none.
  static app_settings::setting* find(app_settings& app, std::string_view section, std::string_view key);
  static const app_settings::setting* find(const app_settings& app, std::string_view section,
                                           std::string_view key);
};

}  // namespace troupe::schema
