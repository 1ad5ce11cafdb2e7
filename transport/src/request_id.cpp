#include "request_id.hpp"

#include <cstdint>
#include <random>

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
  // One engine per transport thread, seeded once: ids need to be unique, not
  // secret, and random_device costs a system call.
  thread_local std::mt19937_64 engine{(static_cast<uint64_t>(std::random_device{}()) << 32) ^
                                      std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    uint64_t bits = engine();
    for (int i = 0; i < 16; ++i, bits >>= 4)
      id[static_cast<size_t>(half * 16 + i)] = digits[bits & 0xf];
  }
  return id;
}

std::string pick_request_id(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  auto it = metadata.find(request_id_key);
  if (it != metadata.end() && sane(it->second))
    return std::string(it->second.data(), it->second.size());
  return generate_request_id();
}

}  // namespace troupe::detail
