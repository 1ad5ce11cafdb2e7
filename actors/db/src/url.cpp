#include "url.hpp"

#include <cctype>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include <libpq-fe.h>

#include "troupe/db/errors.hpp"

namespace troupe::db {

namespace {

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

// Length of the libpq URI scheme `s` starts with, 0 for keyword/value text.
size_t uri_prefix(const std::string& s) {
  if (starts_with(s, "postgresql://"))
    return 13;
  if (starts_with(s, "postgres://"))
    return 11;
  return 0;
}

// libpq reads a dbname value that looks like a connection string as one
// (expand_dbname): then it may carry a password of its own.
bool expanded_by_libpq(const std::string& dbname) {
  return uri_prefix(dbname) > 0 || dbname.find('=') != std::string::npos;
}

// A URI query value: all but unreserved characters percent-encoded.
std::string percent_encoded(const std::string& v) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '*') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xf]);
    }
  }
  return out;
}

// A keyword/value value: single-quoted, quotes and backslashes escaped.
std::string quoted(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\\' || c == '\'')
      out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace

database_url parse_url(const std::string& url) {
  if (starts_with(url, "sqlite://")) {
    std::string path = url.substr(9);
    if (path.empty())
      throw failure(errc::invalid_argument, "database url '" + url + "' names no file");
    // Each connection would get its own empty database.
    if (path == ":memory:")
      throw failure(errc::invalid_argument,
                    "database url '" + url + "': in-memory databases cannot be shared by a pool; use a file");
    return {backend::sqlite, path};
  }
  if (uri_prefix(url) > 0)
    return {backend::postgresql, url};
  throw failure(errc::invalid_argument, "unsupported database url '" + redact(url) +
                                          "': use sqlite://PATH or postgresql://user@host:port/dbname");
}

std::string redact(const std::string& url) {
  if (starts_with(url, "sqlite://"))
    return url;
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(url.c_str(), &error),
                                                                       &PQconninfoFree);
  PQfreemem(error);  // it may quote the text, secrets and all
  if (!options) {
    auto scheme = url.find("://");
    return scheme == std::string::npos ? "***" : url.substr(0, scheme + 3) + "***";
  }
  // Each value as shown: libpq marks secrets with display character "*".
  std::vector<std::pair<const char*, std::string>> shown;
  bool changed = false;
  for (auto* o = options.get(); o->keyword; ++o) {
    if (!o->val)
      continue;
    std::string v = o->val;
    if (std::string_view(o->dispchar) == "*")
      v = "***";
    else if (std::string_view(o->keyword) == "dbname" && expanded_by_libpq(v))
      v = redact(v);
    changed = changed || v != o->val;
    shown.emplace_back(o->keyword, std::move(v));
  }
  if (!changed)
    return url;
  // Rebuilt in the form it came in.
  size_t scheme = uri_prefix(url);
  std::string out = url.substr(0, scheme);
  if (scheme == 0) {
    for (size_t i = 0; i < shown.size(); ++i)
      out += (i == 0 ? "" : " ") + std::string(shown[i].first) + "=" + quoted(shown[i].second);
    return out;
  }
  // A URI keeps user, host, port and database where a reader looks for them
  // (`user:***@host:port/db`); the rest, and hosts a URI authority cannot
  // spell simply (lists, socket paths), become query parameters.
  auto take = [&](std::string_view key) -> std::optional<std::string> {
    for (auto it = shown.begin(); it != shown.end(); ++it) {
      if (key == it->first) {
        auto v = std::move(it->second);
        shown.erase(it);
        return v;
      }
    }
    return std::nullopt;
  };
  auto simple = [](const std::string& v) { return v.find_first_of(",/:") == std::string::npos; };
  auto user = take("user");
  auto password = user ? take("password") : std::nullopt;
  if (user)
    out += percent_encoded(*user) + (password ? ":" + *password : "") + "@";
  auto host = take("host");
  if (host && !simple(*host)) {
    shown.emplace_back("host", *host);
    host.reset();
  }
  if (host) {
    out += percent_encoded(*host);
    if (auto port = take("port"); port && simple(*port))
      out += ":" + percent_encoded(*port);
    else if (port)
      shown.emplace_back("port", *port);
  }
  if (auto db = take("dbname"))
    out += "/" + percent_encoded(*db);
  for (size_t i = 0; i < shown.size(); ++i)
    out += (i == 0 ? "?" : "&") + std::string(shown[i].first) + "=" + percent_encoded(shown[i].second);
  return out;
}

}  // namespace troupe::db
