#include "logging.hpp"

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace troupe::cli {

namespace {

// The length of the valid UTF-8 sequence at the start of `s`, or 0 if its
// first byte does not start one; `*bad` is then the length of the maximal
// subpart of a sequence (Unicode's "U+FFFD substitution of maximal subparts",
// also what nlohmann-json and browsers do): the bytes one U+FFFD replaces.
size_t utf8_sequence(std::string_view s, size_t* bad) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = b(0);
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range
  if (lead < 0x80)
    return 1;
  if (lead >= 0xc2 && lead <= 0xdf) {
    len = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    len = 3;
    if (lead == 0xe0)
      lo = 0xa0;  // no overlong forms
    if (lead == 0xed)
      hi = 0x9f;  // no surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    len = 4;
    if (lead == 0xf0)
      lo = 0x90;  // no overlong forms
    if (lead == 0xf4)
      hi = 0x8f;  // nothing above U+10FFFF
  } else {
    *bad = 1;  // a continuation byte, 0xc0, 0xc1 or 0xf5..0xff
    return 0;
  }
  for (size_t i = 1; i < len; ++i) {
    bool ok = i < s.size() && b(i) >= (i == 1 ? lo : 0x80) && b(i) <= (i == 1 ? hi : 0xbf);
    if (!ok) {
      *bad = i;
      return 0;
    }
  }
  return len;
}

// `text` as a JSON string literal (quotes included), appended to `out`: valid
// UTF-8 whatever the bytes, control characters escaped.
void append_json_string(std::string_view text, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t bad = 0;
    size_t len = utf8_sequence(text.substr(i), &bad);
    if (len == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD
      i += bad;
      continue;
    }
    if (len > 1) {
      out.append(text.substr(i, len));
    } else if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      out += "\\u00";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
    i += len;
  }
  out.push_back('"');
}

// One JSON object per line, {"time", "level", "message"} in that order: log
// messages carry bytes clients chose (method paths, status messages, gRPC's
// own reports), and invalid UTF-8 among them becomes U+FFFD instead of
// breaking the line. Written by hand: the package's other JSON writers
// (protobuf's, toml++'s) do not promise that replacement.
class json_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    spdlog::memory_buf_t time;
    time_.format(msg, time);
    auto level = spdlog::level::to_string_view(msg.level);
    std::string line = "{\"time\":";
    append_json_string({time.data(), time.size()}, line);
    line += ",\"level\":";
    append_json_string({level.data(), level.size()}, line);
    line += ",\"message\":";
    append_json_string({msg.payload.data(), msg.payload.size()}, line);
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<json_formatter>(); }

private:
  spdlog::pattern_formatter time_{"%Y-%m-%dT%H:%M:%S.%e%z", spdlog::pattern_time_type::local, ""};
};

}  // namespace

void setup_logging(const std::string& program, const logging_config& cfg) {
  auto logger = spdlog::stderr_color_mt(program);
  if (cfg.format == "json")
    logger->set_formatter(std::make_unique<json_formatter>());
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(cfg.level));
}

}  // namespace troupe::cli
