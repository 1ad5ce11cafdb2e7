// The TOML configuration loader: any text is either a configuration or one
// config_error naming where it went wrong; nothing else may escape.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <troupe/config.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto cfg = troupe::parse_config(text, "fuzz.toml");
    // What loads must print and load again to the same configuration.
    auto printed = troupe::to_toml(cfg);
    if (troupe::to_toml(troupe::parse_config(printed, "printed.toml")) != printed)
      __builtin_trap();
  } catch (const troupe::config_error& e) {
    if (std::string_view(e.what()).find('\n') != std::string_view::npos)
      __builtin_trap();  // start-up errors are one line
  }
  return 0;
}
