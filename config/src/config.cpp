// Loading TOML through the schema: unknown sections and keys, wrong types and
// out-of-range values are each one line naming file, line, column and key.
#include "troupe/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "schema.hpp"

namespace troupe {
namespace {

std::string where(const std::string& source, const toml::source_region& r) {
  std::ostringstream os;
  os << source << ':' << r.begin.line << ':' << r.begin.column;
  return os.str();
}

std::string name(std::string_view section, std::string_view key) {
  return "[" + std::string(section) + "] " + std::string(key);
}

}  // namespace

config_error::config_error(const std::string& message) : std::runtime_error([&] {
  static constexpr char hex[] = "0123456789abcdef";
  std::string line;
  line.reserve(message.size());
  for (unsigned char c : message) {
    if (c == '\n')
      line += "\\n";
    else if (c < 0x20 || c == 0x7f)
      line += std::string("\\x") + hex[c >> 4] + hex[c & 0xf];
    else
      line += static_cast<char>(c);
  }
  return line;
}()) {}

config parse_config(std::string_view text, const std::string& source, const app_settings& declared) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << where(source, e.source()) << ": TOML syntax error: " << e.description();
    throw config_error(os.str());
  }
  config cfg;
  cfg.app = declared;
  auto all = schema::fields(declared);
  auto sections = schema::sections(all);
  for (auto& [section_name, node] : root) {
    auto sec = section_name.str();
    if (std::find(sections.begin(), sections.end(), sec) == sections.end())
      throw config_error(where(source, node.source()) + ": [" + std::string(sec) +
                         "]: unknown section" + schema::suggestion(sec, sections));
    auto* tbl = node.as_table();
    if (!tbl)
      throw config_error(where(source, node.source()) + ": " + std::string(sec) +
                         ": expected a table [" + std::string(sec) + "]");
    for (auto& [key_name, value] : *tbl) {
      auto key = key_name.str();
      auto* f = schema::find(all, sec, key);
      if (!f)
        throw config_error(where(source, key_name.source()) + ": " + name(sec, key) +
                           ": unknown key" + schema::suggestion(key, schema::keys_of(all, sec)));
      if (auto err = f->read(value, cfg); !err.empty())
        throw config_error(where(source, value.source()) + ": " + name(sec, key) + ": " + err);
    }
  }
  if (auto v = schema::first_violation(cfg)) {
    auto* node = root[v->section][v->key].node();
    auto at = node ? where(source, node->source()) : source;
    throw config_error(at + ": " + name(v->section, v->key) + ": " + v->message);
  }
  return cfg;
}

config load_config(const std::string& path, const app_settings& declared) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error(path + ": cannot read config file: " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad())
    throw config_error(path + ": cannot read config file: " + std::strerror(errno));
  return parse_config(buf.str(), path, declared);
}

void validate(const config& cfg) {
  if (auto v = schema::first_violation(cfg))
    throw config_error(name(v->section, v->key) + ": " + v->message);
}

// A toml::table prints its keys sorted, so Troupe's sections are one table
// and each declared section one more, printed after them in declaration order.
std::string to_toml(const config& cfg) {
  auto all = schema::fields(cfg.app);
  toml::table troupe_part;
  for (auto& f : all)
    if (!f.declared)
      f.write(cfg, troupe_part);
  std::ostringstream os;
  os << troupe_part << '\n';
  for (auto section : schema::sections(all)) {
    toml::table part;
    for (auto& f : all)
      if (f.declared && f.section == section)
        f.write(cfg, part);
    if (!part.empty())
      os << '\n' << part << '\n';
  }
  return os.str();
}

std::vector<std::pair<std::string, std::string>> config_keys() {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& f : schema::fields())
    out.emplace_back(f.section, f.key);
  return out;
}

}  // namespace troupe
