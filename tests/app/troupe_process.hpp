// A server binary built on Troupe (`troupe`, or an example built against the
// installed package) as a child process: started with arguments and extra
// environment, its output captured, waited for with a bound.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace troupe::test {

class troupe_process {
public:
  // Starts `binary` with `args`; `env` entries (NAME=VALUE) are added to this
  // process's environment.
  troupe_process(const std::string& binary, const std::vector<std::string>& args,
                 const std::vector<std::string>& env);
#ifdef TROUPE_BINARY
  // The `troupe` binary of this build: TROUPE_BINARY is a compile definition
  // of the tests that drive it (this library itself is built without it).
  explicit troupe_process(const std::vector<std::string>& args, const std::vector<std::string>& env = {})
      : troupe_process(TROUPE_BINARY, args, env) {}
#endif
  ~troupe_process();  // kills the process if it still runs

  troupe_process(const troupe_process&) = delete;
  troupe_process& operator=(const troupe_process&) = delete;

  // The port from the "listening on HOST:PORT" line, or 0 when the process
  // exits or `timeout` passes first.
  int wait_listening(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  void signal(int sig);

  // The process id while it runs (for /proc/PID/...), -1 once it has exited.
  pid_t pid() const { return pid_; }

  // The exit code once the process exits normally within `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  // Everything it wrote to stderr / stdout so far.
  std::string stderr_text();
  std::string stdout_text();

private:
  void drain();
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string out_text_;
  std::string err_text_;
};

}  // namespace troupe::test
