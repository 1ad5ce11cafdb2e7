#include "request_id.hpp"

#include "key_hash.hpp"
#include "troupe/call_record.hpp"

namespace troupe::detail {

namespace {

constexpr size_t max_request_id = 128;

bool sane(grpc::string_ref id) {
  if (id.empty() || id.size() > max_request_id)
    return false;
  for (char c : id) {
    if (c <= ' ' || c > '~')
      return false;
  }
  return true;
}

}  // namespace

std::string generate_request_id() {
  // From OpenSSL's CSPRNG: ids must not be predictable from earlier ones (a
  // Mersenne Twister gives its whole state away in 312 outputs).
  return random_hex(16);
}

std::string pick_request_id(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  auto it = metadata.find(request_id_key);
  if (it != metadata.end() && sane(it->second))
    return std::string(it->second.data(), it->second.size());
  return generate_request_id();
}

}  // namespace troupe::detail
