#include "tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace troupe::db::testing {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string("tcp_proxy: ") + what + ": " + std::strerror(errno));
}

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    auto n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

tcp_proxy::tcp_proxy(int target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    fail("socket");
  auto addr = loopback(0);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || ::listen(listen_fd_, 64) < 0)
    fail("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) < 0)
    fail("getsockname");
  port_ = ntohs(addr.sin_port);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0)
    fail("eventfd");
  thread_ = std::thread([this] { run(); });
}

tcp_proxy::~tcp_proxy() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stopping_ = true;
  }
  wake();
  thread_.join();
  for (auto& [fd, peer] : peers_)
    ::close(fd);
  ::close(listen_fd_);
  ::close(wake_fd_);
}

void tcp_proxy::pause() {
  std::lock_guard<std::mutex> guard(mutex_);
  paused_ = true;
}

void tcp_proxy::resume() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    paused_ = false;
  }
  wake();
}

void tcp_proxy::wake() {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void tcp_proxy::run() {
  for (;;) {
    std::vector<pollfd> fds{{wake_fd_, POLLIN, 0}};
    {
      std::lock_guard<std::mutex> guard(mutex_);
      if (stopping_)
        return;
      if (!paused_) {
        fds.push_back({listen_fd_, POLLIN, 0});
        for (auto& [fd, peer] : peers_)
          fds.push_back({fd, POLLIN, 0});
      }
    }
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR)
      return;
    if (fds[0].revents) {
      uint64_t count;
      [[maybe_unused]] auto n = ::read(wake_fd_, &count, sizeof count);
    }
    std::lock_guard<std::mutex> guard(mutex_);
    if (stopping_)
      return;
    if (paused_)
      continue;
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!fds[i].revents)
        continue;
      if (fds[i].fd == listen_fd_)
        accept_one();
      else if (peers_.count(fds[i].fd) && !forward(fds[i].fd))
        close_pair(fds[i].fd);
    }
  }
}

void tcp_proxy::accept_one() {
  int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0)
    return;
  int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = loopback(target_port_);
  if (upstream < 0 || ::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    if (upstream >= 0)
      ::close(upstream);
    ::close(client);
    return;
  }
  peers_[client] = upstream;
  peers_[upstream] = client;
}

bool tcp_proxy::forward(int from) {
  char buf[64 * 1024];
  auto n = ::recv(from, buf, sizeof buf, 0);
  if (n < 0 && errno == EINTR)
    return true;
  return n > 0 && write_all(peers_.at(from), buf, static_cast<size_t>(n));
}

void tcp_proxy::close_pair(int fd) {
  int peer = peers_.at(fd);
  peers_.erase(fd);
  peers_.erase(peer);
  ::close(fd);
  ::close(peer);
}

}  // namespace troupe::db::testing
