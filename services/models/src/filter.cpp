// The AIP-160 subset and order_by, translated to SQL whose values are all bound.
//
//   filter     := expression
//   expression := factor { "AND" factor }          AND binds loosest
//   factor     := term { "OR" term }               OR binds tighter than AND (AIP-160)
//   term       := [ "NOT" | "-" ] simple
//   simple     := "(" expression ")" | field op value
//   op         := "=" | "!=" | "<" | "<=" | ">" | ">="
//   value      := integer | "string" | true | false | null | ENUM_NAME
#include <cctype>
#include <charconv>
#include <set>

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include "detail.hpp"

namespace troupe::models {

namespace detail {

std::optional<int64_t> utf8_length(std::string_view s) {
  int64_t n = 0;
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (b < 0x80) {
      len = 1;
      cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    } else {
      return std::nullopt;
    }
    if (i + len > s.size())
      return std::nullopt;
    for (size_t k = 1; k < len; ++k) {
      auto cb = static_cast<unsigned char>(s[i + k]);
      if ((cb & 0xC0) != 0x80)
        return std::nullopt;
      cp = (cp << 6) | (cb & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return std::nullopt;
    i += len;
    ++n;
  }
  return n;
}

std::optional<int64_t> parse_rfc3339(const std::string& text) {
  // TimeUtil accepts RFC 3339 with "Z" or a numeric offset; require the 'T'
  // and a zone so that nothing looser passes.
  if (text.size() < 20 || text.size() > 40 || text[10] != 'T')
    return std::nullopt;
  google::protobuf::Timestamp ts;
  if (!google::protobuf::util::TimeUtil::FromString(text, &ts))
    return std::nullopt;
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}

std::string sortable_sql(const column& c, db::backend kind) {
  if (c.type == kind::text && kind == db::backend::postgresql)
    return c.name + " COLLATE \"C\"";
  return c.name;
}

std::vector<db::param> params_of(const std::vector<value>& values) {
  std::vector<db::param> ps;
  ps.reserve(values.size());
  for (auto& v : values) {
    if (auto* i = std::get_if<int64_t>(&v))
      ps.emplace_back(*i);
    else if (auto* s = std::get_if<std::string>(&v))
      ps.emplace_back(std::string_view(*s));
    else
      ps.emplace_back(nullptr);
  }
  return ps;
}

}  // namespace detail

namespace {

constexpr size_t max_filter_bytes = 8192;
constexpr int max_depth = 64;

class filter_parser {
public:
  filter_parser(const model& m, std::string_view text, db::backend kind) : m_(m), s_(text), kind_(kind) {}

  result<sql_part> run() {
    if (s_.size() > max_filter_bytes)
      return invalid_argument("filter: longer than " + std::to_string(max_filter_bytes) + " bytes");
    skip();
    if (pos_ == s_.size())
      return sql_part{};
    std::string sql;
    if (!expression(sql))
      return invalid_argument("filter: " + error_);
    skip();
    if (pos_ != s_.size())
      return invalid_argument("filter: " + where("unexpected text"));
    return sql_part{std::move(sql), std::move(params_)};
  }

private:
  bool fail(std::string msg) {
    if (error_.empty())
      error_ = std::move(msg);
    return false;
  }
  std::string where(const std::string& what) const { return what + " at offset " + std::to_string(pos_); }

  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
  }
  static bool ident_char(char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; }

  // A keyword as a whole word.
  bool keyword(std::string_view kw) {
    skip();
    if (s_.substr(pos_, kw.size()) != kw)
      return false;
    size_t end = pos_ + kw.size();
    if (end < s_.size() && ident_char(s_[end]))
      return false;
    pos_ = end;
    return true;
  }

  bool expression(std::string& out) {
    if (++depth_ > max_depth)
      return fail(where("nested too deeply"));
    std::string first;
    if (!factor(first))
      return false;
    std::vector<std::string> parts{std::move(first)};
    while (keyword("AND")) {
      std::string next;
      if (!factor(next))
        return false;
      parts.push_back(std::move(next));
    }
    out = join(parts, " AND ");
    --depth_;
    return true;
  }

  bool factor(std::string& out) {
    std::string first;
    if (!term(first))
      return false;
    std::vector<std::string> parts{std::move(first)};
    while (keyword("OR")) {
      std::string next;
      if (!term(next))
        return false;
      parts.push_back(std::move(next));
    }
    out = join(parts, " OR ");
    return true;
  }

  static std::string join(const std::vector<std::string>& parts, const char* op) {
    if (parts.size() == 1)
      return parts[0];
    std::string s = "(";
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i)
        s += op;
      s += parts[i];
    }
    return s + ")";
  }

  bool term(std::string& out) {
    skip();
    bool negate = false;
    if (keyword("NOT")) {
      negate = true;
    } else if (pos_ < s_.size() && s_[pos_] == '-') {
      ++pos_;
      negate = true;
    }
    std::string inner;
    if (!simple(inner))
      return false;
    out = negate ? "(NOT " + inner + ")" : inner;
    return true;
  }

  bool simple(std::string& out) {
    skip();
    if (pos_ < s_.size() && s_[pos_] == '(') {
      ++pos_;
      std::string inner;
      if (!expression(inner))
        return false;
      skip();
      if (pos_ >= s_.size() || s_[pos_] != ')')
        return fail(where("expected ')'"));
      ++pos_;
      out = std::move(inner);  // a comparison, or a group join() parenthesized
      return true;
    }
    return comparison(out);
  }

  bool comparison(std::string& out) {
    skip();
    size_t start = pos_;
    while (pos_ < s_.size() && ident_char(s_[pos_]))
      ++pos_;
    if (start == pos_ || std::isdigit(static_cast<unsigned char>(s_[start])))
      return fail(where("expected a field name"));
    std::string field(s_.substr(start, pos_ - start));
    const column* col = m_.find(field);
    if (!col || !col->filterable)
      return fail("field " + field + " is not filterable");
    skip();
    std::string op;
    for (const char* candidate : {"<=", ">=", "!=", "=", "<", ">"}) {
      std::string_view c(candidate);
      if (s_.substr(pos_, c.size()) == c) {
        op = candidate;
        pos_ += c.size();
        break;
      }
    }
    if (op.empty())
      return fail(where("expected a comparison operator after " + field));
    skip();
    return value_for(*col, op, out);
  }

  bool string_literal(std::string& text) {
    // At '"'.
    ++pos_;
    while (pos_ < s_.size()) {
      char ch = s_[pos_++];
      if (ch == '"')
        return true;
      if (ch == '\\') {
        if (pos_ >= s_.size())
          break;
        char esc = s_[pos_++];
        if (esc != '"' && esc != '\\')
          return fail(where("unknown escape \\" + std::string(1, esc)));
        text += esc;
      } else {
        text += ch;
      }
    }
    return fail("unterminated string");
  }

  bool value_for(const column& col, const std::string& op, std::string& out) {
    const std::string field = col.name;
    std::string lhs = detail::sortable_sql(col, kind_);
    bool equality = op == "=" || op == "!=";
    if (pos_ >= s_.size())
      return fail("field " + field + ": expected a value");
    char ch = s_[pos_];
    if (ch == '"') {
      std::string text;
      if (!string_literal(text))
        return false;
      if (col.type == kind::timestamp) {
        auto us = detail::parse_rfc3339(text);
        if (!us)
          return fail("field " + field + ": \"" + text + "\" is not an RFC 3339 timestamp");
        params_.emplace_back(*us);
        out = lhs + " " + op + " ?";
        return true;
      }
      if (col.type != kind::text)
        return fail("field " + field + ": a string is the wrong type");
      if (!detail::utf8_length(text))
        return fail("field " + field + ": the string is not valid UTF-8");
      if (op == "=" && !text.empty() && text.back() == '*') {
        text.pop_back();
        auto n = *detail::utf8_length(text);
        params_.emplace_back(n);
        params_.emplace_back(std::move(text));
        out = "substr(" + col.name + ", 1, CAST(? AS INTEGER)) = ?";
        return true;
      }
      params_.emplace_back(std::move(text));
      out = lhs + " " + op + " ?";
      return true;
    }
    if (ch == '-' || std::isdigit(static_cast<unsigned char>(ch))) {
      size_t start = pos_;
      if (ch == '-')
        ++pos_;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_])))
        ++pos_;
      if (pos_ < s_.size() && (ident_char(s_[pos_]) || s_[pos_] == '.'))
        return fail("field " + field + ": malformed number");
      int64_t v = 0;
      auto [end, ec] = std::from_chars(s_.data() + start, s_.data() + pos_, v);
      if (ec != std::errc() || end != s_.data() + pos_)
        return fail("field " + field + ": not a 64-bit integer");
      if (col.type != kind::integer)
        return fail("field " + field + ": an integer is the wrong type");
      params_.emplace_back(v);
      out = lhs + " " + op + " ?";
      return true;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && ident_char(s_[pos_]))
      ++pos_;
    if (start == pos_)
      return fail(where("field " + field + ": expected a value"));
    std::string word(s_.substr(start, pos_ - start));
    if (word == "null") {
      if (!col.nullable)
        return fail("field " + field + " is never null");
      if (!equality)
        return fail("field " + field + ": null compares with = or != only");
      out = col.name + (op == "=" ? " IS NULL" : " IS NOT NULL");
      return true;
    }
    if (col.type == kind::boolean && (word == "true" || word == "false")) {
      if (!equality)
        return fail("field " + field + ": booleans compare with = or != only");
      params_.emplace_back(int64_t{word == "true"});
      out = lhs + " " + op + " ?";
      return true;
    }
    if (col.type == kind::enumeration) {
      const auto* v = col.field->enum_type()->FindValueByName(word);
      if (!v)
        return fail("field " + field + ": " + word + " is not a " + col.field->enum_type()->name());
      if (!equality)
        return fail("field " + field + ": enums compare with = or != only");
      params_.emplace_back(int64_t{v->number()});
      out = lhs + " " + op + " ?";
      return true;
    }
    return fail("field " + field + ": " + word + " is the wrong type");
  }

  const model& m_;
  std::string_view s_;
  db::backend kind_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::string error_;
  std::vector<value> params_;
};

}  // namespace

result<sql_part> parse_filter(const model& m, std::string_view filter, db::backend kind) {
  return filter_parser(m, filter, kind).run();
}

result<std::vector<sort_key>> parse_order_by(const model& m, std::string_view order_by) {
  std::vector<sort_key> keys;
  std::set<std::string> seen;
  bool has_id = false;
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
      s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
      s.remove_suffix(1);
    return s;
  };
  if (!trim(order_by).empty()) {
    size_t start = 0;
    while (start <= order_by.size()) {
      size_t comma = order_by.find(',', start);
      if (comma == std::string_view::npos)
        comma = order_by.size();
      auto item = trim(order_by.substr(start, comma - start));
      start = comma + 1;
      if (item.empty())
        return invalid_argument("order_by: empty item");
      size_t sp = item.find_first_of(" \t");
      std::string field(item.substr(0, sp));
      bool desc = false;
      if (sp != std::string_view::npos) {
        auto dir = trim(item.substr(sp));
        if (dir == "desc")
          desc = true;
        else if (dir != "asc")
          return invalid_argument("order_by: expected asc or desc after " + field);
      }
      const column* col = m.find(field);
      if (!col || !col->sortable)
        return invalid_argument("order_by: field " + field + " is not sortable");
      if (!seen.insert(field).second)
        return invalid_argument("order_by: field " + field + " given twice");
      keys.push_back({col, desc});
      if (col->part == role::id) {
        has_id = true;
        if (trim(order_by.substr(std::min(start, order_by.size()))).size() && start <= order_by.size())
          return invalid_argument("order_by: nothing may follow " + field + " (it is unique)");
        break;
      }
      if (comma == order_by.size())
        break;
    }
  }
  if (!has_id)
    keys.push_back({&m.id_column(), false});
  return keys;
}

}  // namespace troupe::models
