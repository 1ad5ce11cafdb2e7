#include "placeholders.hpp"

#include <cctype>

namespace troupe::db {

namespace {

// Length of a dollar-quote tag ($tag$ or $$) starting at i, or 0.
size_t dollar_tag_length(std::string_view sql, size_t i) {
  size_t j = i + 1;
  while (j < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_'))
    ++j;
  if (j < sql.size() && sql[j] == '$' && !(j > i + 1 && std::isdigit(static_cast<unsigned char>(sql[i + 1]))))
    return j - i + 1;
  return 0;
}

}  // namespace

numbered_sql number_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 1;
  size_t i = 0;
  // Copies sql[i..end) verbatim and moves past it.
  auto copy_to = [&](size_t end) {
    end = std::min(end, sql.size());
    out.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < sql.size()) {
    char ch = sql[i];
    if (ch == '?') {
      out += '$' + std::to_string(next++);
      ++i;
    } else if (ch == '\'' || ch == '"') {
      // A doubled quote inside is an escaped quote: the scan just continues.
      size_t end = sql.find(ch, i + 1);
      copy_to(end == std::string_view::npos ? sql.size() : end + 1);
    } else if (sql.substr(i, 2) == "--") {
      size_t end = sql.find('\n', i);
      copy_to(end == std::string_view::npos ? sql.size() : end + 1);
    } else if (sql.substr(i, 2) == "/*") {
      size_t end = sql.find("*/", i + 2);
      copy_to(end == std::string_view::npos ? sql.size() : end + 2);
    } else if (size_t tag = ch == '$' ? dollar_tag_length(sql, i) : 0; tag > 0) {
      size_t end = sql.find(sql.substr(i, tag), i + tag);
      copy_to(end == std::string_view::npos ? sql.size() : end + tag);
    } else {
      out += ch;
      ++i;
    }
  }
  return {std::move(out), next - 1};
}

}  // namespace troupe::db
