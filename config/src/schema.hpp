// The configuration schema: every key declared once, with its type, its check
// and how it is printed. Parsing, overrides and printing all go through it.
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
  std::string_view section;
  std::string_view key;
  std::string_view type;  // "integer", "boolean", "number", "string", "array of strings"
  // Stores the node's value; returns an error text, empty when fine.
  std::function<std::string(const toml::node&, config&)> read;
  std::function<void(const config&, toml::table&)> write;
};

// In the order of config/troupe.toml.
const std::vector<field>& fields();

const field* find(std::string_view section, std::string_view key);
std::vector<std::string_view> sections();
std::vector<std::string_view> keys_of(std::string_view section);

// " (did you mean 'x'?)" for the closest candidate, when it is close enough.
std::string suggestion(std::string_view name, const std::vector<std::string_view>& candidates);

// A rule spanning keys that the configuration breaks.
struct violation {
  std::string_view section;
  std::string_view key;
  std::string message;
};
std::optional<violation> first_violation(const config& cfg);

}  // namespace troupe::schema
