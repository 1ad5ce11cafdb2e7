#include "key_hash.hpp"

#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace troupe::detail {

namespace {

std::string to_hex(const unsigned char* bytes, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string random_hex(size_t bytes) {
  unsigned char buf[64];
  if (bytes > sizeof buf)
    throw std::invalid_argument("random_hex: at most 64 bytes");
  if (RAND_bytes(buf, static_cast<int>(bytes)) != 1)
    throw std::runtime_error("cannot draw random bytes (OpenSSL RAND_bytes failed)");
  return to_hex(buf, bytes);
}

std::string random_api_key() {
  return random_hex(api_key_length / 2);
}

bool well_formed_api_key(std::string_view key) {
  if (key.size() != api_key_length)
    return false;
  for (char c : key)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

std::string api_key_hash(std::string_view key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  return to_hex(digest, sizeof digest);
}

bool same_hash(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace troupe::detail
