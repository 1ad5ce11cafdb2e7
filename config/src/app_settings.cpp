// Declarations of an application's own sections: checked when declared, so
// loading can treat them exactly like Troupe's keys.
#include <algorithm>

#include "schema.hpp"

namespace troupe {
namespace {

bool bare_key(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string name(std::string_view section, std::string_view key) {
  return "[" + std::string(section) + "] " + std::string(key);
}

}  // namespace

app_settings& app_settings::add(setting s) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("app_settings::declare: " + what); };
  if (!bare_key(s.section))
    fail("[" + s.section + "]: a section name is a TOML bare key (A-Z a-z 0-9 _ -)");
  if (!bare_key(s.key))
    fail(name(s.section, s.key) + ": a key name is a TOML bare key (A-Z a-z 0-9 _ -)");
  for (auto own : schema::sections(schema::fields()))
    if (schema::upper(own) == schema::upper(s.section))
      fail("[" + s.section + "] is Troupe's own section [" + std::string(own) + "]");
  if (schema::app_access::find(*this, s.section, s.key))
    fail(name(s.section, s.key) + ": declared twice");
  for (auto& other : settings_)
    if (other.section != s.section && schema::upper(other.section) == schema::upper(s.section))
      fail("[" + s.section + "]: differs from the declared [" + other.section + "] only in case");
  auto var = schema::env_name(s.section, s.key);
  for (auto& f : schema::fields(*this))
    if (schema::env_name(f.section, f.key) == var)
      fail(name(s.section, s.key) + ": its variable " + var + " is already " + name(f.section, f.key) + "'s");
  if (s.check) {
    if (auto err = s.check(s.default_value); !err.empty())
      fail(name(s.section, s.key) + ": the default fails its check: " + err);
  }
  settings_.push_back(std::move(s));
  return *this;
}

const app_settings::value& app_settings::current_of(std::string_view section, std::string_view key,
                                                    std::size_t index) const {
  auto* s = schema::app_access::find(*this, section, key);
  if (!s)
    throw std::logic_error("app_settings::get: " + name(section, key) + " was not declared");
  if (s->current.index() != index)
    throw std::logic_error("app_settings::get: " + name(section, key) + " is " +
                           schema::a(schema::type_name_of(s->current.index())) + ", not " +
                           schema::a(schema::type_name_of(index)));
  return s->current;
}

}  // namespace troupe
