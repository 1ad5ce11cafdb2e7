#include "h2_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <nghttp2/nghttp2.h>

namespace troupe::test {

namespace {

nghttp2_nv to_nv(const std::pair<std::string, std::string>& h) {
  // nghttp2 copies names and values while it encodes; NO_INDEX keeps a flood
  // of distinct headers from churning our own dynamic table.
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(h.first.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(h.second.data())), h.first.size(),
          h.second.size(), NGHTTP2_NV_FLAG_NO_INDEX};
}

std::vector<nghttp2_nv> to_nvs(const header_list& headers) {
  std::vector<nghttp2_nv> nvs;
  nvs.reserve(headers.size());
  for (auto& h : headers)
    nvs.push_back(to_nv(h));
  return nvs;
}

void check(int rv, const char* what) {
  if (rv < 0)
    throw std::runtime_error(std::string(what) + ": " + nghttp2_strerror(rv));
}

}  // namespace

struct h2_callbacks {
  static ssize_t send(nghttp2_session*, const uint8_t* data, size_t length, int, void* self) {
    // Everything nghttp2 produces goes out, in order, as the socket takes it.
    static_cast<h2_client*>(self)->out_.append(reinterpret_cast<const char*>(data), length);
    return static_cast<ssize_t>(length);
  }

  static int frame_send(nghttp2_session*, const nghttp2_frame* frame, void* self) {
    auto* c = static_cast<h2_client*>(self);
    ++c->frames_sent_;
    c->requests_sent_ += frame->hd.type == NGHTTP2_HEADERS;
    return 0;
  }

  static int frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
    auto& seen = static_cast<h2_client*>(self)->seen_;
    switch (frame->hd.type) {
      case NGHTTP2_GOAWAY:
        seen.goaway = true;
        seen.goaway_code = frame->goaway.error_code;
        seen.goaway_last_stream = frame->goaway.last_stream_id;
        seen.goaway_debug.assign(reinterpret_cast<const char*>(frame->goaway.opaque_data),
                                 frame->goaway.opaque_data_len);
        break;
      case NGHTTP2_RST_STREAM:
        ++seen.rst_streams;
        seen.last_rst_code = frame->rst_stream.error_code;
        break;
      case NGHTTP2_PING:
        seen.ping_acks += (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0;
        break;
      case NGHTTP2_SETTINGS:
        seen.settings_acks += (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0;
        break;
      case NGHTTP2_HEADERS:
        seen.responses += frame->headers.cat == NGHTTP2_HCAT_RESPONSE;
        break;
      default:
        break;
    }
    return 0;
  }

  static int header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                    size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* self) {
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    auto& answer = static_cast<h2_client*>(self)->answers_[frame->hd.stream_id];
    if (n == "grpc-status")
      answer.grpc_status = std::atoi(v.c_str());
    else if (n == "grpc-message")
      answer.grpc_message = std::move(v);
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, int32_t stream, uint8_t* buf, size_t length,
                           uint32_t* flags, nghttp2_data_source*, void* self) {
    auto& bodies = static_cast<h2_client*>(self)->bodies_;
    auto& b = bodies.at(stream);
    size_t n = std::min(length, b.bytes.size() - b.offset);
    std::memcpy(buf, b.bytes.data() + b.offset, n);
    b.offset += n;
    if (b.offset == b.bytes.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      bodies.erase(stream);
    }
    return static_cast<ssize_t>(n);
  }
};

h2_client::h2_client(int port, size_t max_header_block) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0)
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  sockaddr_in local{};
  socklen_t len = sizeof local;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
  local_port_ = ntohs(local.sin_port);

  nghttp2_session_callbacks* cbs = nullptr;
  check(nghttp2_session_callbacks_new(&cbs), "nghttp2_session_callbacks_new");
  nghttp2_session_callbacks_set_send_callback(cbs, h2_callbacks::send);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, h2_callbacks::frame_send);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2_callbacks::frame_recv);
  nghttp2_session_callbacks_set_on_header_callback(cbs, h2_callbacks::header);
  nghttp2_option* opt = nullptr;
  check(nghttp2_option_new(&opt), "nghttp2_option_new");
  nghttp2_option_set_max_send_header_block_length(opt, max_header_block);
  int rv = nghttp2_session_client_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  check(rv, "nghttp2_session_client_new2");
  submit_settings();  // nghttp2 puts the client preface before the first frame
}

h2_client::~h2_client() {
  nghttp2_session_del(session_);
  ::close(fd_);
}

header_list h2_client::grpc_request(const std::string& path, const header_list& extra) {
  header_list h{{":method", "POST"},
                {":scheme", "http"},
                {":path", path},
                {":authority", "127.0.0.1"},
                {"content-type", "application/grpc"},
                {"te", "trailers"}};
  h.insert(h.end(), extra.begin(), extra.end());
  return h;
}

int32_t h2_client::submit_request(const header_list& headers, std::string body) {
  auto nvs = to_nvs(headers);
  nghttp2_data_provider provider{};
  provider.read_callback = h2_callbacks::read_body;
  int32_t id = nghttp2_submit_request(session_, nullptr, nvs.data(), nvs.size(), &provider, nullptr);
  check(id, "nghttp2_submit_request");
  bodies_[id].bytes = std::move(body);
  send_queued();
  return id;
}

void h2_client::submit_reset(int32_t stream) {
  check(nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream, NGHTTP2_CANCEL),
        "nghttp2_submit_rst_stream");
}

void h2_client::submit_ping() {
  check(nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr), "nghttp2_submit_ping");
}

void h2_client::submit_settings() {
  check(nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0), "nghttp2_submit_settings");
}

void h2_client::send_queued() {
  if (seen_.closed)
    return;
  int rv = nghttp2_session_send(session_);
  if (rv != 0 && seen_.error.empty())
    seen_.error = std::string("send: ") + nghttp2_strerror(rv);
}

void h2_client::mark_closed() {
  if (!seen_.closed) {
    seen_.closed = true;
    seen_.bytes_written_at_close = written_;
  }
}

void h2_client::write_some() {
  while (unwritten() > 0) {
    ssize_t n = ::send(fd_, out_.data() + out_offset_, unwritten(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        mark_closed();
      break;
    }
    out_offset_ += static_cast<size_t>(n);
    written_ += n;
  }
  if (out_offset_ == out_.size() || out_offset_ > (1u << 20)) {
    out_.erase(0, out_offset_);
    out_offset_ = 0;
  }
}

void h2_client::read_some() {
  uint8_t buf[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      mark_closed();
      return;
    }
    if (n < 0)
      return;
    if (!seen_.error.empty())
      continue;  // nghttp2 gave up on this connection; drain only
    ssize_t rv = nghttp2_session_mem_recv(session_, buf, static_cast<size_t>(n));
    if (rv < 0)
      seen_.error = std::string("receive: ") + nghttp2_strerror(static_cast<int>(rv));
  }
}

bool h2_client::pump(std::chrono::milliseconds timeout, bool read) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    send_queued();
    if (seen_.closed)
      return unwritten() == 0;
    short events = static_cast<short>((read ? POLLIN : 0) | (unwritten() > 0 ? POLLOUT : 0));
    if (events == 0)
      return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    pollfd p{fd_, events, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count()))) > 0) {
      if (p.revents & POLLOUT)
        write_some();
      if (read && (p.revents & (POLLIN | POLLHUP | POLLERR)))
        read_some();
      else if (p.revents & (POLLHUP | POLLERR))
        mark_closed();
    }
    if (unwritten() == 0 || std::chrono::steady_clock::now() >= end)
      return unwritten() == 0;
  }
}

bool h2_client::pump_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!done() && !seen_.closed) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    pump(std::min(left, std::chrono::milliseconds(50)));
  }
  return done();
}

int h2_client::grpc_status(int32_t stream) const {
  auto it = answers_.find(stream);
  return it == answers_.end() ? -1 : it->second.grpc_status;
}

std::string h2_client::grpc_message(int32_t stream) const {
  auto it = answers_.find(stream);
  return it == answers_.end() ? std::string() : it->second.grpc_message;
}

uint32_t h2_client::remote_setting(int id) const {
  return nghttp2_session_get_remote_settings(session_, static_cast<nghttp2_settings_id>(id));
}

std::string h2_client::describe() const {
  std::string s = "frames sent " + std::to_string(frames_sent_) + " (" +
                  std::to_string(requests_sent_) + " requests), bytes written " +
                  std::to_string(written_) + ", unwritten " + std::to_string(unwritten());
  if (seen_.goaway)
    s += "; GOAWAY code " + std::to_string(seen_.goaway_code) + " (" +
         nghttp2_http2_strerror(seen_.goaway_code) + ") last stream " +
         std::to_string(seen_.goaway_last_stream) + " \"" + seen_.goaway_debug + "\"";
  if (seen_.closed)
    s += "; closed by the server after " + std::to_string(seen_.bytes_written_at_close) + " bytes";
  s += "; RST_STREAM " + std::to_string(seen_.rst_streams);
  if (seen_.rst_streams > 0)
    s += " (last code " + std::to_string(seen_.last_rst_code) + ")";
  s += ", responses " + std::to_string(seen_.responses) + ", PING ACKs " +
       std::to_string(seen_.ping_acks) + ", SETTINGS ACKs " + std::to_string(seen_.settings_acks);
  if (!seen_.error.empty())
    s += "; nghttp2: " + seen_.error;
  return s;
}

}  // namespace troupe::test
