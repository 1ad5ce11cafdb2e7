// A raw HTTP/2 client for abuse tests: one connection to 127.0.0.1, framed by
// libnghttp2, that sends what a well-behaved gRPC client never would (floods,
// resets, oversized headers) and records what the server answered.
//
// Single-threaded: submit_* queue frames, pump() writes them to the socket and
// reads the server's frames, both without blocking past its timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

struct nghttp2_session;

namespace troupe::test {

using header_list = std::vector<std::pair<std::string, std::string>>;

// What the server did to this connection.
struct server_reaction {
  bool goaway = false;
  uint32_t goaway_code = 0;  // an HTTP/2 error code: 11 ENHANCE_YOUR_CALM, ...
  int32_t goaway_last_stream = 0;
  std::string goaway_debug;
  bool closed = false;           // end of file or reset by the server
  long bytes_written_at_close = 0;  // of ours that had reached the socket then
  long rst_streams = 0;          // RST_STREAM frames received
  uint32_t last_rst_code = 0;
  long ping_acks = 0;
  long settings_acks = 0;
  long responses = 0;            // streams the server answered with headers
  std::string error;             // nghttp2 failed on the server's bytes
};

class h2_client {
public:
  // Connects and queues the preface and an empty SETTINGS frame. A header
  // block may be up to `max_header_block` bytes once encoded (nghttp2's own
  // default, 64 KiB, refuses larger ones before they leave).
  explicit h2_client(int port, size_t max_header_block = 64 * 1024);
  ~h2_client();
  h2_client(const h2_client&) = delete;
  h2_client& operator=(const h2_client&) = delete;

  // The request headers of a gRPC call to `path` (content-type application/grpc,
  // te: trailers), `extra` appended.
  static header_list grpc_request(const std::string& path, const header_list& extra = {});

  // Opens a stream with `headers`, then `body` as DATA ending it; returns the
  // stream id. The frames are encoded at once (as far as flow control lets the
  // body go), so a reset submitted next goes out after them instead of nghttp2
  // dropping the still-queued request.
  int32_t submit_request(const header_list& headers, std::string body);
  void submit_reset(int32_t stream);  // RST_STREAM CANCEL
  void submit_ping();
  void submit_settings();  // an empty SETTINGS frame (the server must ACK it)

  // Writes what is queued and, when `read`, reads the server's frames meanwhile
  // (at least one round, waiting up to `timeout` for them when nothing is to be
  // written), until all is written or `timeout`; returns whether all was
  // written. Unread, the server's replies stay in the socket and back up into
  // the server.
  bool pump(std::chrono::milliseconds timeout, bool read = true);
  // Pumps until `done()`, the connection closed, or `timeout`; returns done().
  bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

  // grpc-status the server sent on `stream` (trailers or trailers-only), -1 if none.
  int grpc_status(int32_t stream) const;
  std::string grpc_message(int32_t stream) const;
  // The server's SETTINGS value (nghttp2's default until they arrived).
  uint32_t remote_setting(int id) const;

  const server_reaction& reaction() const { return seen_; }
  long bytes_written() const { return written_; }
  size_t unwritten() const { return out_.size() - out_offset_; }
  int local_port() const { return local_port_; }
  // One line for test output: GOAWAY, close, resets, acks.
  std::string describe() const;

private:
  struct body {
    std::string bytes;
    size_t offset = 0;
  };
  struct stream_answer {
    int grpc_status = -1;
    std::string grpc_message;
  };

  void send_queued();     // nghttp2's frames into out_
  void write_some();
  void read_some();
  void mark_closed();

  friend struct h2_callbacks;  // nghttp2's callbacks (h2_client.cpp)

  int fd_ = -1;
  int local_port_ = 0;
  nghttp2_session* session_ = nullptr;
  std::string out_;  // encoded frames not yet written
  size_t out_offset_ = 0;
  long written_ = 0;
  long frames_sent_ = 0;
  long requests_sent_ = 0;  // HEADERS frames: nghttp2 drops a queued request its reset cancels
  std::map<int32_t, body> bodies_;
  std::map<int32_t, stream_answer> answers_;
  server_reaction seen_;
};

}  // namespace troupe::test
