// Values from outside the file: command-line flags and TROUPE_<SECTION>_<KEY>
// environment variables, checked by the same schema as the file.
#include <algorithm>
#include <cctype>
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

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

void set_value(config& cfg, std::string_view section, std::string_view key,
               std::string_view text, const std::string& origin) {
  auto* f = schema::find(section, key);
  if (!f)
    throw std::logic_error("set_value: no key [" + std::string(section) + "] " + std::string(key));
  auto fail = [&](const std::string& err) {
    throw config_error(origin + ": [" + std::string(section) + "] " + std::string(key) + ": " +
                       err + " (got '" + std::string(text) + "')");
  };
  auto node = node_of(*f, text);
  if (!node)
    fail("expected " + std::string(f->type == "integer" ? "an " : "a ") + std::string(f->type));
  if (auto err = f->read(*node, cfg); !err.empty())
    fail(err);
}

void apply_environment(config& cfg, const std::vector<std::string>& environment) {
  constexpr std::string_view prefix = "TROUPE_";
  auto sections = schema::sections();
  for (auto& entry : environment) {
    auto eq = entry.find('=');
    std::string_view var = std::string_view(entry).substr(0, eq);
    if (eq == std::string::npos || var.substr(0, prefix.size()) != prefix)
      continue;
    auto rest = var.substr(prefix.size());
    auto sep = rest.find('_');
    auto sec = std::find_if(sections.begin(), sections.end(),
                            [&](std::string_view s) { return upper(s) == rest.substr(0, sep); });
    if (sec == sections.end() || sep == std::string_view::npos)
      continue;  // not a configuration variable (TROUPE_TEST_..., say)
    auto key_upper = rest.substr(sep + 1);
    std::vector<std::string> names;
    std::vector<std::string_view> candidates;
    const schema::field* f = nullptr;
    for (auto key : schema::keys_of(*sec)) {
      names.push_back(std::string(prefix) + upper(*sec) + "_" + upper(key));
      if (upper(key) == key_upper)
        f = schema::find(*sec, key);
    }
    if (!f) {
      for (auto& n : names)
        candidates.push_back(n);
      throw config_error(std::string(var) + ": unknown configuration variable" +
                         schema::suggestion(var, candidates));
    }
    set_value(cfg, f->section, f->key, std::string_view(entry).substr(eq + 1), std::string(var));
  }
}

std::vector<std::string> process_environment() {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e)
    out.emplace_back(*e);
  return out;
}

}  // namespace troupe
