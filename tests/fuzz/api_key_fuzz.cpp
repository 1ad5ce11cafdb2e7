// The API-key header path as the transport runs it before any actor: the
// key's shape check and hash, the request id picked from the same metadata,
// and the client address taken from a peer string.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <grpcpp/support/string_ref.h>

#include "auth_gate.hpp"
#include "key_hash.hpp"
#include "request_id.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view value(reinterpret_cast<const char*>(data), size);
  if (troupe::detail::well_formed_api_key(value)) {
    if (value.size() != troupe::detail::api_key_length)
      __builtin_trap();
    auto hash = troupe::detail::api_key_hash(value);
    if (hash.size() != 64 || !troupe::detail::same_hash(hash, troupe::detail::api_key_hash(value)))
      __builtin_trap();
  }
  std::multimap<grpc::string_ref, grpc::string_ref> metadata{
    {"x-api-key", grpc::string_ref(value.data(), value.size())},
    {"x-request-id", grpc::string_ref(value.data(), value.size())},
  };
  auto id = troupe::detail::pick_request_id(metadata);
  if (id.empty() || id.size() > 128)
    __builtin_trap();
  for (char c : id) {
    if (c <= ' ' || c > '~')
      __builtin_trap();  // ids go into key=value log lines unquoted
  }
  auto address = troupe::detail::peer_address(std::string(value));
  if (address.size() > value.size())
    __builtin_trap();
  return 0;
}
