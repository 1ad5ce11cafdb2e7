// The `?` placeholder scanner of the PostgreSQL backend: never reads out of
// bounds, numbers placeholders $1..$n in order, and leaves SQL without a `?`
// untouched.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "placeholders.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view sql(reinterpret_cast<const char*>(data), size);
  auto out = troupe::db::number_placeholders(sql);
  if (out.placeholders < 0)
    __builtin_trap();
  // Nothing numbered, nothing changed (a `?` in a literal or comment stays).
  if (out.placeholders == 0 && out.text != sql)
    __builtin_trap();
  if (sql.find('?') == std::string_view::npos && out.placeholders != 0)
    __builtin_trap();
  // A `?` becomes `$n`: the text only grows.
  if (out.text.size() < sql.size())
    __builtin_trap();
  // The last placeholder's number is in the text.
  if (out.placeholders > 0 && out.text.find("$" + std::to_string(out.placeholders)) == std::string::npos)
    __builtin_trap();
  return 0;
}
