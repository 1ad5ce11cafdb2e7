// Every key the schema knows is documented: in config/troupe.toml (under its
// section, as "key = ") and in docs/configuration.md (as `key` in its
// section's table, and its environment variable).
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include <troupe/config.hpp>

namespace troupe::test {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// The text from "marker" up to the next line starting with `next_heading`.
std::string section_of(const std::string& text, const std::string& marker, const std::string& next_heading) {
  auto begin = text.find(marker);
  if (begin == std::string::npos)
    return {};
  auto end = text.find("\n" + next_heading, begin + marker.size());
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST(documented, every_key_is_in_the_shipped_file_under_its_section) {
  auto text = read(TROUPE_SOURCE_DIR "/config/troupe.toml");
  ASSERT_FALSE(text.empty());
  for (auto& [section, key] : config_keys()) {
    auto part = section_of(text, "\n[" + section + "]\n", "[");
    EXPECT_NE(part.find("\n" + key + " = "), std::string::npos) << "[" << section << "] " << key;
  }
}

TEST(documented, every_key_and_variable_is_in_docs_configuration_md) {
  auto text = read(TROUPE_SOURCE_DIR "/docs/configuration.md");
  ASSERT_FALSE(text.empty());
  for (auto& [section, key] : config_keys()) {
    auto part = section_of(text, "\n## [" + section + "]\n", "## ");
    EXPECT_NE(part.find("| `" + key + "` |"), std::string::npos) << "[" << section << "] " << key;
    EXPECT_NE(text.find("TROUPE_" + upper(section) + "_" + upper(key)), std::string::npos)
      << "TROUPE_" << upper(section) << "_" << upper(key);
  }
}

}  // namespace
}  // namespace troupe::test
