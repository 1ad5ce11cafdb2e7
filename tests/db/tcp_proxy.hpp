// A TCP proxy on 127.0.0.1 in front of a local server, which a test can make
// stop answering the way a hung host does: while paused it forwards nothing
// and accepts nothing, yet clients' connects still complete (the kernel
// accepts them into the listen backlog) and what they send is taken in by
// the kernel, but no answer ever comes.
#pragma once

#include <map>
#include <mutex>
#include <thread>

namespace troupe::db::testing {

class tcp_proxy {
public:
  // Listens on an OS-picked port and forwards to 127.0.0.1:`target_port`.
  explicit tcp_proxy(int target_port);
  // Closes every socket: connections still in the backlog are reset.
  ~tcp_proxy();

  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  int port() const { return port_; }

  // Once pause() returns no byte is forwarded and no connection accepted
  // until resume().
  void pause();
  void resume();

private:
  void run();
  void accept_one();
  // Moves what `from` has to its peer; false when either side is done.
  bool forward(int from);
  void close_pair(int fd);
  void wake();

  int target_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  // Held while forwarding, so that pause() waits for a forward under way.
  std::mutex mutex_;
  bool paused_ = false;
  bool stopping_ = false;
  std::map<int, int> peers_;  // each socket of a proxied connection -> its other end
  std::thread thread_;
};

}  // namespace troupe::db::testing
