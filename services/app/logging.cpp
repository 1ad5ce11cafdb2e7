#include "logging.hpp"

#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace troupe::cli {

namespace {

// One JSON object per line, built by nlohmann-json: log messages carry bytes
// clients chose (method paths, status messages, gRPC's own reports), and
// invalid UTF-8 among them becomes U+FFFD instead of breaking the line.
class json_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    spdlog::memory_buf_t time;
    time_.format(msg, time);
    auto level = spdlog::level::to_string_view(msg.level);
    nlohmann::ordered_json line = {
      {"time", std::string(time.data(), time.size())},
      {"level", std::string(level.data(), level.size())},
      {"message", std::string(msg.payload.data(), msg.payload.size())},
    };
    auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text.push_back('\n');
    dest.append(text.data(), text.data() + text.size());
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
