#include "url.hpp"

#include "troupe/db/errors.hpp"

namespace troupe::db {

namespace {

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
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
  if (starts_with(url, "postgresql://") || starts_with(url, "postgres://"))
    return {backend::postgresql, url};
  throw failure(errc::invalid_argument, "unsupported database url '" + redact(url) +
                                          "': use sqlite://PATH or postgresql://user@host:port/dbname");
}

std::string redact(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    return url;
  auto authority = scheme_end + 3;
  auto at = url.find('@', authority);
  auto slash = url.find('/', authority);
  if (at == std::string::npos || (slash != std::string::npos && slash < at))
    return url;
  auto colon = url.find(':', authority);
  if (colon == std::string::npos || colon > at)
    return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace troupe::db
