// Values from outside the file: command-line flags and TROUPE_<SECTION>_<KEY>
// environment variables, checked by the same schema as the file.
#include <algorithm>
#include <memory>

#include "schema.hpp"

extern char** environ;

namespace troupe {
namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// The node `text` stands for, as the field's kind reads it; null when the
// text is no TOML value at all.
std::unique_ptr<toml::node> node_of(const schema::field& f, std::string_view text) {
  if (f.type == "string")
    return std::make_unique<toml::value<std::string>>(std::string(text));
  if (f.type == "array of strings") {
    auto arr = std::make_unique<toml::array>();
    if (trim(text).empty())
      return arr;
    size_t start = 0;
    while (true) {
      auto comma = text.find(',', start);
      arr->push_back(trim(text.substr(start, comma - start)));
      if (comma == std::string_view::npos)
        break;
      start = comma + 1;
    }
    return arr;
  }
  try {
    auto tbl = toml::parse("v = " + std::string(text));
    auto* v = tbl.get("v");
    if (!v)
      return nullptr;
    std::unique_ptr<toml::node> out;
    v->visit([&](auto& n) { out = std::make_unique<std::decay_t<decltype(n)>>(n); });
    return out;
  } catch (const toml::parse_error&) {
    return nullptr;
  }
}

void set_field(config& cfg, const schema::field& f, std::string_view text, const std::string& origin) {
  auto fail = [&](const std::string& err) {
    throw config_error(origin + ": [" + f.section + "] " + f.key + ": " + err + " (got '" +
                       std::string(text) + "')");
  };
  auto node = node_of(f, text);
  if (!node)
    fail("expected " + schema::a(f.type));
  if (auto err = f.read(*node, cfg); !err.empty())
    fail(err);
}

}  // namespace

void set_value(config& cfg, std::string_view section, std::string_view key,
               std::string_view text, const std::string& origin) {
  auto all = schema::fields(cfg.app);
  auto* f = schema::find(all, section, key);
  if (!f)
    throw std::logic_error("set_value: no key [" + std::string(section) + "] " + std::string(key));
  set_field(cfg, *f, text, origin);
}

// A variable is a key's when it is that key's name exactly. Otherwise the
// section named by the longest TROUPE_<SECTION>_ prefix is the one meant (a
// declared [server_extra] is not [server]); app_settings::declare refuses a
// key whose variable would be another key's, so no name is ambiguous.
void apply_environment(config& cfg, const std::vector<std::string>& environment) {
  auto all = schema::fields(cfg.app);
  auto sections = schema::sections(all);
  for (auto& entry : environment) {
    auto eq = entry.find('=');
    if (eq == std::string::npos)
      continue;
    std::string_view var = std::string_view(entry).substr(0, eq);
    auto f = std::find_if(all.begin(), all.end(),
                          [&](const schema::field& x) { return schema::env_name(x.section, x.key) == var; });
    if (f != all.end()) {
      set_field(cfg, *f, std::string_view(entry).substr(eq + 1), std::string(var));
      continue;
    }
    std::string_view section;
    std::string section_prefix;
    for (auto s : sections) {
      auto p = schema::env_name(s, "");
      if (var.substr(0, p.size()) == p && p.size() > section_prefix.size()) {
        section = s;
        section_prefix = p;
      }
    }
    if (section_prefix.empty())
      continue;  // not a configuration variable (TROUPE_TEST_..., say)
    std::vector<std::string> names;
    for (auto key : schema::keys_of(all, section))
      names.push_back(schema::env_name(section, key));
    std::vector<std::string_view> candidates(names.begin(), names.end());
    throw config_error(std::string(var) + ": unknown configuration variable" +
                       schema::suggestion(var, candidates));
  }
}

std::vector<std::string> process_environment() {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e)
    out.emplace_back(*e);
  return out;
}

}  // namespace troupe
