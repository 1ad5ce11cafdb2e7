// The models' page tokens: decoding any text never crashes and accepts
// nothing but a token this process sealed; a token it did seal decodes back
// to the same keys, for its own filter and order_by only.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "demo/books_service.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace tm = troupe::models;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto& m = *troupe::services::books_model();
  auto order = *tm::parse_order_by(m, "title, year desc");
  // Arbitrary input is never a valid token (forging needs the process key).
  if (tm::decode_page_token(text, "", "title, year desc", order).ok())
    __builtin_trap();
  // Sealed keys made from the input round-trip.
  std::string title(text.substr(0, size / 2));
  int64_t year = 0;
  for (size_t i = size / 2; i < size && i < size / 2 + 8; ++i)
    year = (year << 8) | data[i];
  std::vector<tm::value> keys{title, year, static_cast<int64_t>(size)};
  auto token = tm::encode_page_token(text, "title, year desc", keys);
  auto back = tm::decode_page_token(token, text, "title, year desc", order);
  if (!back.ok() || back->size() != 3 || std::get<std::string>((*back)[0]) != title ||
      std::get<int64_t>((*back)[1]) != year || std::get<int64_t>((*back)[2]) != static_cast<int64_t>(size))
    __builtin_trap();
  if (tm::decode_page_token(token, std::string(text) + " ", "title, year desc", order).ok())
    __builtin_trap();
  return 0;
}
