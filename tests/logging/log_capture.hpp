// Captures the process's spdlog lines for a test (the default logger is
// swapped for one writing to memory, restored afterwards), and reads the
// key=value fields of request log lines.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace troupe::test {

// Keeps each line's message; readable while transport threads log.
class memory_sink : public spdlog::sinks::base_sink<std::mutex> {
public:
  std::vector<std::string> messages() {
    std::lock_guard<std::mutex> lk(mutex_);
    return messages_;
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    messages_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

private:
  std::vector<std::string> messages_;
};

class log_capture {
public:
  log_capture() : previous_(spdlog::default_logger()), sink_(std::make_shared<memory_sink>()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~log_capture() { spdlog::set_default_logger(previous_); }

  // Captured lines starting with `prefix`.
  std::vector<std::string> lines(const std::string& prefix = "request id=") {
    std::vector<std::string> result;
    for (auto& line : sink_->messages()) {
      if (line.rfind(prefix, 0) == 0)
        result.push_back(line);
    }
    return result;
  }

private:
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<memory_sink> sink_;
};

// The value of ` key=` in a request log line, unquoted; "<missing>" if absent.
inline std::string field(const std::string& line, const std::string& key) {
  auto at = line.find(" " + key + "=");
  if (at == std::string::npos)
    return "<missing>";
  at += key.size() + 2;
  if (at < line.size() && line[at] == '"') {
    std::string v;
    for (size_t i = at + 1; i < line.size() && line[i] != '"'; ++i)
      v.push_back(line[i] == '\\' && i + 1 < line.size() ? line[++i] : line[i]);
    return v;
  }
  return line.substr(at, line.find(' ', at) - at);
}

}  // namespace troupe::test
