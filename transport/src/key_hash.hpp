// API-key material: fresh keys, their hashes, and comparing hashes; random
// hex strings for whatever else must not be guessed (request ids).
#pragma once

#include <string>
#include <string_view>

namespace troupe::detail {

inline constexpr size_t api_key_length = 64;  // hex digits: 256 bits
inline constexpr size_t api_key_prefix_length = 8;

// `bytes` (at most 64) from OpenSSL's CSPRNG as 2 * `bytes` lower-case hex digits.
std::string random_hex(size_t bytes);

// 256 bits from OpenSSL's CSPRNG as 64 lower-case hex digits.
std::string random_api_key();

// Whether `key` has the shape of a key (64 lower-case hex digits).
bool well_formed_api_key(std::string_view key);

// SHA-256 of `key`, as 64 lower-case hex digits.
std::string api_key_hash(std::string_view key);

// Equal hashes, compared in time independent of where they differ.
bool same_hash(std::string_view a, std::string_view b);

}  // namespace troupe::detail
