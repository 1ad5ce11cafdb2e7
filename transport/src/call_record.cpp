#include "troupe/call_record.hpp"

#include <iterator>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

namespace troupe {

namespace {

bool needs_quotes(std::string_view v) {
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '\\' || c == '=' || c >= 0x7f)
      return true;
  }
  return false;
}

// One value of a key=value line, quoted (with escapes) when `quote` or when a
// reader splitting on spaces and '=' would misread it. Empty stays empty: `user=`.
void append_value(fmt::memory_buffer& out, std::string_view v, bool quote = false) {
  if (!quote && !needs_quotes(v)) {
    out.append(v.data(), v.data() + v.size());
    return;
  }
  out.push_back('"');
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < ' ' || c == 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

void append_field(fmt::memory_buffer& out, std::string_view key, std::string_view v, bool quote = false) {
  out.push_back(' ');
  out.append(key.data(), key.data() + key.size());
  out.push_back('=');
  append_value(out, v, quote);
}

}  // namespace

request_log parse_request_log(std::string_view text) {
  if (text == "off")
    return request_log::off;
  if (text == "errors")
    return request_log::errors;
  if (text == "all")
    return request_log::all;
  throw std::invalid_argument("request_log: expected off, errors or all (got '" + std::string(text) + "')");
}

const char* status_name(status_code code) {
  switch (code) {
    case status_code::OK: return "OK";
    case status_code::CANCELLED: return "CANCELLED";
    case status_code::UNKNOWN: return "UNKNOWN";
    case status_code::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case status_code::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case status_code::NOT_FOUND: return "NOT_FOUND";
    case status_code::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case status_code::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case status_code::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case status_code::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case status_code::ABORTED: return "ABORTED";
    case status_code::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case status_code::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case status_code::INTERNAL: return "INTERNAL";
    case status_code::UNAVAILABLE: return "UNAVAILABLE";
    case status_code::DATA_LOSS: return "DATA_LOSS";
    case status_code::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

void log_call(const call_record& r) {
  if (!spdlog::should_log(spdlog::level::info))
    return;
  fmt::memory_buffer line;
  static constexpr std::string_view head = "request";
  line.append(head.data(), head.data() + head.size());
  append_field(line, "id", r.request_id);
  append_field(line, "method", r.method);
  append_field(line, "peer", r.peer);
  append_field(line, "user", r.user);
  append_field(line, "status", status_name(r.code));
  // Always quoted: a message is prose, and an empty one reads as message="".
  append_field(line, "message", r.message, true);
  fmt::format_to(std::back_inserter(line), " duration_us={} msgs_in={} msgs_out={} bytes_in={} bytes_out={}",
                 r.duration.count(), r.msgs_in, r.msgs_out, r.bytes_in, r.bytes_out);
  spdlog::info("{}", std::string_view(line.data(), line.size()));
}

}  // namespace troupe
