// Page tokens: base64url of
//   version (1 byte) | SHA-256(filter NUL order_by)[0..16) | key values | HMAC-SHA256[0..16)
// where each key value is 'i' + 8 bytes big-endian or 's' + 4-byte length +
// bytes, and the HMAC covers everything before it under a key drawn once per
// process with RAND_bytes. A token therefore only works in the process that
// made it (see docs/models.md), cannot be forged or altered, and names the
// filter and order it was made for.
#include <array>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "detail.hpp"

namespace troupe::models {

namespace {

constexpr unsigned char token_version = 1;
constexpr size_t hash_bytes = 16;
constexpr size_t mac_bytes = 16;
constexpr size_t max_token_chars = 4096;

const std::array<unsigned char, 32>& process_key() {
  static const std::array<unsigned char, 32> key = [] {
    std::array<unsigned char, 32> k{};
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1)
      throw std::runtime_error("page tokens: RAND_bytes failed");
    return k;
  }();
  return key;
}

std::string context_hash(std::string_view filter, std::string_view order_by) {
  std::string ctx;
  ctx.reserve(filter.size() + order_by.size() + 1);
  ctx.append(filter).push_back('\0');
  ctx.append(order_by);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(ctx.data()), ctx.size(), digest);
  return std::string(reinterpret_cast<char*>(digest), hash_bytes);
}

std::string mac(std::string_view data) {
  const auto& key = process_key();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), mac_bytes);
}

const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char ch : in) {
    acc = (acc << 8) | ch;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += b64[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0)
    out += b64[(acc << (6 - bits)) & 0x3F];
  return out;
}

std::optional<std::string> unbase64url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    const char* p = ch ? std::strchr(b64, ch) : nullptr;
    if (!p)
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - b64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero padding of the last byte, and fewer than 6.
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

status bad_token() {
  return invalid_argument("page_token: not a token of this listing (garbage, altered, or made for another "
                          "filter or order_by)");
}

}  // namespace

std::string encode_page_token(std::string_view filter, std::string_view order_by, const std::vector<value>& keys) {
  std::string raw;
  raw.push_back(static_cast<char>(token_version));
  raw += context_hash(filter, order_by);
  for (auto& v : keys) {
    if (auto* i = std::get_if<int64_t>(&v)) {
      raw.push_back('i');
      auto u = static_cast<uint64_t>(*i);
      for (int shift = 56; shift >= 0; shift -= 8)
        raw.push_back(static_cast<char>((u >> shift) & 0xFF));
    } else if (auto* s = std::get_if<std::string>(&v)) {
      raw.push_back('s');
      auto n = static_cast<uint32_t>(s->size());
      for (int shift = 24; shift >= 0; shift -= 8)
        raw.push_back(static_cast<char>((n >> shift) & 0xFF));
      raw += *s;
    } else {
      raw.push_back('n');
    }
  }
  raw += mac(raw);
  return base64url(raw);
}

result<std::vector<value>> decode_page_token(std::string_view token, std::string_view filter,
                                             std::string_view order_by, const std::vector<sort_key>& order) {
  if (token.size() > max_token_chars)
    return bad_token();
  auto raw = unbase64url(token);
  if (!raw || raw->size() < 1 + hash_bytes + mac_bytes)
    return bad_token();
  std::string_view body(raw->data(), raw->size() - mac_bytes);
  std::string expected = mac(body);
  if (CRYPTO_memcmp(expected.data(), raw->data() + body.size(), mac_bytes) != 0)
    return bad_token();
  if (static_cast<unsigned char>(body[0]) != token_version || body.substr(1, hash_bytes) != context_hash(filter, order_by))
    return bad_token();
  size_t pos = 1 + hash_bytes;
  std::vector<value> keys;
  for (auto& key : order) {
    if (pos >= body.size())
      return bad_token();
    char tag = body[pos++];
    bool text = key.col->type == kind::text;
    if (tag == 'i' && !text) {
      if (body.size() - pos < 8)
        return bad_token();
      uint64_t u = 0;
      for (int k = 0; k < 8; ++k)
        u = (u << 8) | static_cast<unsigned char>(body[pos++]);
      keys.emplace_back(static_cast<int64_t>(u));
    } else if (tag == 's' && text) {
      if (body.size() - pos < 4)
        return bad_token();
      uint32_t n = 0;
      for (int k = 0; k < 4; ++k)
        n = (n << 8) | static_cast<unsigned char>(body[pos++]);
      if (body.size() - pos < n)
        return bad_token();
      keys.emplace_back(std::string(body.substr(pos, n)));
      pos += n;
    } else {
      return bad_token();
    }
  }
  if (pos != body.size())
    return bad_token();
  return keys;
}

}  // namespace troupe::models
