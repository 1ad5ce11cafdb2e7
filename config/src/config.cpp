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

config parse_config(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << where(source, e.source()) << ": TOML syntax error: " << e.description();
    throw config_error(os.str());
  }
  config cfg;
  auto sections = schema::sections();
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
      auto* f = schema::find(sec, key);
      if (!f)
        throw config_error(where(source, key_name.source()) + ": " + name(sec, key) +
                           ": unknown key" + schema::suggestion(key, schema::keys_of(sec)));
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

config load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error(path + ": cannot read config file: " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad())
    throw config_error(path + ": cannot read config file: " + std::strerror(errno));
  return parse_config(buf.str(), path);
}

void validate(const config& cfg) {
  if (auto v = schema::first_violation(cfg))
    throw config_error(name(v->section, v->key) + ": " + v->message);
}

std::string to_toml(const config& cfg) {
  toml::table out;
  for (auto& f : schema::fields())
    f.write(cfg, out);
  std::ostringstream os;
  os << out << '\n';
  return os.str();
}

std::vector<std::pair<std::string, std::string>> config_keys() {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& f : schema::fields())
    out.emplace_back(f.section, f.key);
  return out;
}

}  // namespace troupe
