// What the transport knows about one finished call, for request logs and
// audit tables. Built only when request logging is on (see
// server::set_request_log); with it off a call costs no more than its
// request id.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "troupe/status.hpp"

namespace troupe {

// The metadata key carrying a call's request id, both ways: a client may send
// one; the server returns the id it used in trailing metadata.
inline constexpr const char* request_id_key = "x-request-id";

struct call_record {
  std::string request_id;
  std::string method;  // full path, "/package.Service/Method"
  std::string peer;    // as gRPC names it: "ipv4:127.0.0.1:40312"
  std::string user;    // the API key's user; empty when anonymous
  // CANCELLED or DEADLINE_EXCEEDED when gRPC ended the call before its handler did.
  status_code code = status_code::OK;
  std::string message;
  std::chrono::microseconds duration{0};  // accept to done notification
  std::chrono::system_clock::time_point started_at;
  int64_t msgs_in = 0;  // request messages read
  int64_t msgs_out = 0; // response messages sent
  int64_t bytes_in = 0; // serialised sizes of those messages
  int64_t bytes_out = 0;
};

// [logging] request_log: which calls are logged and recorded.
enum class request_log { off, errors, all };

// "off" | "errors" | "all"; throws std::invalid_argument otherwise.
request_log parse_request_log(std::string_view text);

// Whether `mode` logs a call that ended with `code`.
inline bool logs(request_log mode, status_code code) {
  return mode == request_log::all || (mode == request_log::errors && code != status_code::OK);
}

// The status code's name as in the gRPC spec: "OK", "DEADLINE_EXCEEDED", ...
const char* status_name(status_code code);

// Writes the record as one info line of key=value fields:
//   request id=… method=… peer=… user= status=OK message="" duration_us=…
//   msgs_in=1 msgs_out=1 bytes_in=7 bytes_out=7
void log_call(const call_record& r);

}  // namespace troupe
