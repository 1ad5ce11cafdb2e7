// One hostile HTTP/2 client at a time against a Troupe server, next to a
// well-behaved one: every call of the well-behaved client succeeds during and
// after the abuse, the server's memory stays bounded, and it keeps serving.
// The abuser may be cut off (GOAWAY, closed connection) or not; each test
// prints what the server did to it.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>

#include <google/protobuf/io/coded_stream.h>
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>
#include <troupe/call_record.hpp>

#include "bystander.hpp"
#include "h2_client.hpp"
#include "logging/log_capture.hpp"
#include "support/probe_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

const std::string unary_path = "/bench.v1.Bench/Unary";

// What the server process may grow by while one abuser works on it.
constexpr long rss_bound_kib = 64 * 1024;

// A gRPC length-prefixed message: flag 0 (not compressed), 4-byte length, bytes.
std::string grpc_frame(const google::protobuf::MessageLite& msg) {
  std::string bytes = msg.SerializeAsString();
  std::string framed(5, '\0');
  auto n = static_cast<uint32_t>(bytes.size());
  for (int i = 0; i < 4; ++i)
    framed[1 + i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
  return framed + bytes;
}

// A Payload whose serialised size is `size`: a tag byte, the length as a
// varint, the bytes (at the few sizes where the varint grows, one less).
bench::v1::Payload payload_of_size(size_t size) {
  size_t data = size - 2;
  while (1 + google::protobuf::io::CodedOutputStream::VarintSize64(data) + data > size)
    --data;
  bench::v1::Payload p;
  p.set_data(std::string(data, 'x'));
  return p;
}

long long ms_between(clock::time_point from, clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

int open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d))
      ++n;
    ::closedir(d);
  }
  return n - 3;  // ".", ".." and the directory itself
}

class abuse : public ::testing::Test {
protected:
  void SetUp() override {
    // Every call is recorded, the bystander's thousands too: their info lines
    // would bury the test output. The records still reach the observer below.
    previous_level_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::warn);
    server_ = std::make_unique<test_server>([this](troupe::server& s) {
      s.add(probe_service(std::make_shared<probe>()));
      s.set_request_log(request_log::all, [this](const call_record& r) {
        std::lock_guard<std::mutex> lock(mutex_);
        ++calls_by_peer_[r.peer][r.code];
      });
    });
    good_ = std::make_unique<bystander>(*server_);
    ASSERT_TRUE(good_->wait_for_more(5, 20s)) << good_->first_failure();
    rss_start_kib_ = rss_kib();
  }

  void TearDown() override {
    good_.reset();
    server_.reset();
    spdlog::set_level(previous_level_);
  }

  // The calls that reached Troupe from the abuser's connection, by status:
  // "none" or "OK 1, CANCELLED 3012".
  std::string calls_from(int local_port) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = calls_by_peer_.find("ipv4:127.0.0.1:" + std::to_string(local_port));
    if (it == calls_by_peer_.end())
      return "none";
    std::string s;
    for (auto& [code, n] : it->second)
      s += std::string(s.empty() ? "" : ", ") + status_name(code) + " " + std::to_string(n);
    return s;
  }

  void report(const char* what, const h2_client& abuser) {
    std::printf("[ abuse    ] %s: %s; calls that reached Troupe: %s\n", what,
                abuser.describe().c_str(), calls_from(abuser.local_port()).c_str());
  }

  // After the abuse: the well-behaved client keeps being served, none of its
  // calls failed, memory stayed within the bound, and (unless `new_connections`
  // is false) a new connection is served.
  void expect_unharmed(bool new_connections = true) {
    long ok_during = good_->ok();
    EXPECT_TRUE(good_->wait_for_more(20, 30s))
      << "the well-behaved client is no longer served: " << good_->first_failure();
    good_->stop();
    EXPECT_EQ(good_->failed(), 0) << good_->first_failure();
    long grew = good_->peak_rss_kib() - rss_start_kib_;
#ifndef __SANITIZE_ADDRESS__
    EXPECT_LT(grew, rss_bound_kib) << "RSS from " << rss_start_kib_ << " KiB to a peak of "
                                   << good_->peak_rss_kib() << " KiB";
#else
    // AddressSanitizer keeps freed memory in quarantine (256 MiB by default):
    // RSS measures nothing here; the rest is still checked.
#endif
    if (new_connections) {
      auto st = call_on_a_new_connection(10s);
      EXPECT_TRUE(st.ok()) << st.error_message();
    }
    std::printf("[ abuse    ] well-behaved client: %ld calls OK (%ld by the end of the abuse), "
                "%ld failed, slowest %lld ms; RSS %ld KiB at start, peak +%ld KiB, now +%ld KiB\n",
                good_->ok(), ok_during, good_->failed(),
                static_cast<long long>(good_->slowest().count()), rss_start_kib_, grew,
                rss_kib() - rss_start_kib_);
  }

  grpc::Status call_on_a_new_connection(std::chrono::seconds deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    bench::v1::Payload req, resp;
    req.set_data("after");
    return server_->bench(++new_channels_)->Unary(&ctx, req, &resp);
  }

  // Pumps until the server has answered a PING sent after everything before it:
  // gRPC handles a connection's frames in order, so by then it has seen them all.
  static void sync(h2_client& c, std::chrono::milliseconds timeout = 20s) {
    long acks = c.reaction().ping_acks;
    c.submit_ping();
    c.pump_until([&] { return c.reaction().ping_acks > acks; }, timeout);
  }

  std::unique_ptr<test_server> server_;
  std::unique_ptr<bystander> good_;
  long rss_start_kib_ = 0;

private:
  int new_channels_ = 100;
  spdlog::level::level_enum previous_level_ = spdlog::level::info;
  std::mutex mutex_;
  std::map<std::string, std::map<status_code, long>> calls_by_peer_;
};

// CVE-2023-44487: each call is sent whole and at once cancelled, so the client
// never holds more than one of max_concurrent_streams while the server does
// the work of every one.
TEST_F(abuse, rapid_reset_of_10000_streams_on_one_connection) {
  h2_client c(server_->port());
  auto headers = h2_client::grpc_request(unary_path);
  bench::v1::Payload req;
  req.set_data("reset me");
  auto message = grpc_frame(req);
  auto started = clock::now();
  int streams = 0;
  for (; streams < 10000 && !c.reaction().closed && clock::now() - started < 20s; ++streams) {
    c.submit_reset(c.submit_request(headers, message));
    if (streams % 64 == 63)
      c.pump(0ms);
  }
  auto queued = clock::now();
  c.pump(20s);
  auto written = clock::now();
  sync(c);
  std::printf("[ abuse    ] rapid reset: %d HEADERS + DATA + RST_STREAM queued in %lld ms, "
              "taken by the server in %lld ms more\n",
              streams, static_cast<long long>(ms_between(started, queued)),
              static_cast<long long>(ms_between(queued, written)));
  report("rapid reset", c);
  EXPECT_GT(streams, 0);
  expect_unharmed();
}

// gRPC 1.51 answers a client pinging more often than it allows (two strikes)
// with GOAWAY too_many_pings, but takes every further PING of the same read as
// one more strike and runs its GOAWAY and close path again, about 7 KB apiece:
// one connection's 170 KB of PINGs cost the server ~60 MB.
// The server counts no strikes (transport/src/server.cpp); a flood is then
// bounded by gRPC's cap on unsent replies (10,000), after which it stops
// reading the connection until the client reads.
TEST_F(abuse, ping_flood_of_100000_unread_acks_on_each_of_3_connections) {
  for (int round = 0; round < 3; ++round) {
    h2_client c(server_->port());
    c.pump_until([&] { return c.reaction().settings_acks > 0; }, 10s);
    auto started = clock::now();
    int pings = 0;
    for (; pings < 100000 && !c.reaction().closed && clock::now() - started < 20s; ++pings) {
      c.submit_ping();
      if (pings % 256 == 255)
        c.pump(0ms, false);  // write, never read: the ACKs back up into the server
    }
    c.pump(5s, false);
    long unread_written = c.bytes_written();
    // Now read what the server made of it.
    c.pump_until([&] { return c.reaction().ping_acks >= pings; }, 20s);
    std::printf("[ abuse    ] PING flood %d: %d PINGs queued in %lld ms, %ld bytes taken by the "
                "server before the client read; RSS peak +%ld KiB\n",
                round + 1, pings, static_cast<long long>(ms_between(started, clock::now())),
                unread_written, good_->peak_rss_kib() - rss_start_kib_);
    report("PING flood", c);
    EXPECT_GT(pings, 0);
  }
  expect_unharmed();
}

TEST_F(abuse, settings_flood_of_100000_frames) {
  h2_client c(server_->port());
  auto started = clock::now();
  int frames = 0;
  for (; frames < 100000 && !c.reaction().closed && clock::now() - started < 20s; ++frames) {
    c.submit_settings();
    // nghttp2 keeps a list of unacknowledged SETTINGS (appended in O(n)):
    // reading the ACKs as they come keeps it short, and the client fast.
    if (frames % 64 == 63)
      c.pump(c.unwritten() > (1u << 20) ? 10ms : 0ms);
  }
  c.pump(20s);
  auto took = ms_between(started, clock::now());
  c.pump_until([&] { return c.reaction().settings_acks >= frames + 1; }, 20s);
  std::printf("[ abuse    ] SETTINGS flood: %d frames in %lld ms\n", frames,
              static_cast<long long>(took));
  report("SETTINGS flood", c);
  EXPECT_GT(frames, 0);
  expect_unharmed();
}

// Sends one Unary request carrying `extra` headers and waits for its end.
// Returns its grpc-status (-1 if none came).
int send_with_headers(h2_client& c, const header_list& extra, const char* what) {
  bench::v1::Payload req;
  req.set_data("abuse");
  int32_t id = c.submit_request(h2_client::grpc_request(unary_path, extra), grpc_frame(req));
  c.pump_until([&] { return c.grpc_status(id) >= 0 || c.reaction().rst_streams > 0; }, 20s);
  std::printf("[ abuse    ] %s: grpc-status %d \"%s\"\n", what, c.grpc_status(id),
              c.grpc_message(id).c_str());
  return c.grpc_status(id);
}

// Waits for the SETTINGS exchange: the server's limits apply from then on.
void exchange_settings(h2_client& c) {
  ASSERT_TRUE(c.pump_until([&] { return c.reaction().settings_acks > 0; }, 10s)) << c.describe();
}

header_list distinct_headers(int n) {
  header_list h;
  for (int i = 0; i < n; ++i)
    h.emplace_back("x-h-" + std::to_string(i), "v");
  return h;
}

TEST_F(abuse, a_header_value_of_1_mib) {
  h2_client c(server_->port(), 4u << 20);
  exchange_settings(c);
  EXPECT_EQ(send_with_headers(c, {{"x-big", std::string(1u << 20, 'a')}}, "1 MiB header value"), 8);
  report("1 MiB header value", c);
  expect_unharmed();
}

TEST_F(abuse, a_header_block_beyond_the_servers_max_header_list_size) {
  h2_client c(server_->port(), 4u << 20);
  exchange_settings(c);
  uint32_t limit = c.remote_setting(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE);
  std::printf("[ abuse    ] the server's SETTINGS_MAX_HEADER_LIST_SIZE: %u\n", limit);
  ASSERT_LT(limit, 1u << 20) << "the server advertises no bound on header lists";
  // Headers of 1 KB each, together just beyond the list size.
  header_list extra;
  size_t total = 0;
  for (int i = 0; total <= limit; ++i) {
    extra.emplace_back("x-part-" + std::to_string(i), std::string(1000, 'b'));
    total += extra.back().first.size() + extra.back().second.size() + 32;  // RFC 7541 4.1
  }
  EXPECT_EQ(send_with_headers(c, extra, "header list just beyond the limit"), 8);
  report("header list beyond the limit", c);
  expect_unharmed();
}

TEST_F(abuse, ten_thousand_distinct_headers_in_one_request) {
  h2_client c(server_->port(), 4u << 20);
  exchange_settings(c);
  EXPECT_EQ(send_with_headers(c, distinct_headers(10000), "10,000 headers"), 8);
  report("10,000 headers", c);
  expect_unharmed();
}

// gRPC 1.51 applies its header list limit (GRPC_ARG_MAX_METADATA_SIZE, 8 KiB)
// only once the client has acknowledged the SETTINGS that announce it: headers
// that arrive before are accepted whole, and the call is served. What holds:
// the server keeps serving and its memory stays within the bound.
TEST_F(abuse, oversized_headers_before_the_settings_exchange) {
  for (auto& [what, extra] : std::vector<std::pair<std::string, header_list>>{
         {"1 MiB header value before the SETTINGS ACK", {{"x-big", std::string(1u << 20, 'a')}}},
         {"10,000 headers before the SETTINGS ACK", distinct_headers(10000)}}) {
    h2_client c(server_->port(), 4u << 20);  // sends at once, without waiting for the server
    int status = send_with_headers(c, extra, what.c_str());
    report(what.c_str(), c);
    EXPECT_NE(status, -1) << what << ": no status";
  }
  expect_unharmed();
}

TEST_F(abuse, a_message_one_byte_over_max_receive_message_bytes) {
  const size_t max = static_cast<size_t>(local_config().max_receive_message_bytes);
  h2_client c(server_->port());
  // The largest message allowed is served: the refusal below is the bound, not the size.
  auto fits = payload_of_size(max);
  ASSERT_EQ(fits.ByteSizeLong(), max);
  int32_t ok_id = c.submit_request(h2_client::grpc_request(unary_path), grpc_frame(fits));
  c.pump_until([&] { return c.grpc_status(ok_id) >= 0; }, 30s);
  EXPECT_EQ(c.grpc_status(ok_id), 0) << c.grpc_message(ok_id) << "; " << c.describe();

  auto over = payload_of_size(max + 1);
  ASSERT_EQ(over.ByteSizeLong(), max + 1);
  int32_t id = c.submit_request(h2_client::grpc_request(unary_path), grpc_frame(over));
  c.pump_until([&] { return c.grpc_status(id) >= 0; }, 30s);
  std::printf("[ abuse    ] message of %zu bytes: grpc-status %d \"%s\"\n", max + 1,
              c.grpc_status(id), c.grpc_message(id).c_str());
  report("max_receive_message_bytes + 1", c);
  EXPECT_EQ(c.grpc_status(id), 8) << c.grpc_message(id);  // RESOURCE_EXHAUSTED

  // The same connection keeps serving.
  bench::v1::Payload small;
  small.set_data("after");
  int32_t after = c.submit_request(h2_client::grpc_request(unary_path), grpc_frame(small));
  c.pump_until([&] { return c.grpc_status(after) >= 0; }, 10s);
  EXPECT_EQ(c.grpc_status(after), 0) << c.describe();
  expect_unharmed();
}

// 1,000 connections that never complete the HTTP/2 preface, then send it one
// byte at a time.
TEST_F(abuse, slowloris_1000_connections_without_a_preface) {
  constexpr int connections = 1000;
  // Each connection is two descriptors in this process: ours and the server's.
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  rlim_t need = static_cast<rlim_t>(open_fds() + 2 * connections + 256);
  if (lim.rlim_cur < need) {
    ASSERT_GE(lim.rlim_max, need) << "the hard file-descriptor limit is too low for this test";
    lim.rlim_cur = need;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
  }
  int fds_before = open_fds();
  long rss_before = rss_kib();

  std::vector<int> socks;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < connections; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    socks.push_back(fd);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  }
  // The server has accepted them all when it holds its half of each.
  EXPECT_TRUE(wait_until([&] { return open_fds() >= fds_before + 2 * connections; }, 30s))
    << open_fds() - fds_before << " descriptors for " << connections << " connections";
  long rss_held = rss_kib();
  std::printf("[ abuse    ] slowloris: %d idle connections accepted, RSS +%ld KiB (%.1f KiB each)\n",
              connections, rss_held - rss_before,
              static_cast<double>(rss_held - rss_before) / connections);
  EXPECT_TRUE(good_->wait_for_more(10, 20s)) << good_->first_failure();

  // The preface, one byte per connection per round; each round waits for a
  // well-behaved call, which is served meanwhile.
  const std::string preface = NGHTTP2_CLIENT_MAGIC;
  int refused = 0;
  for (char byte : preface) {
    for (int fd : socks)
      refused += ::send(fd, &byte, 1, MSG_NOSIGNAL) != 1;
    EXPECT_TRUE(good_->wait_for_more(1, 10s)) << good_->first_failure();
  }
  // The server answers a complete preface with its SETTINGS and waits for ours.
  int closed = 0;
  for (int fd : socks) {
    pollfd p{fd, POLLIN, 0};
    char buf[256];
    if (::poll(&p, 1, 0) > 0 && ::recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0)
      ++closed;
  }
  std::printf("[ abuse    ] slowloris: preface sent one byte at a time in %zu rounds; %d sends "
              "failed, %d connections closed by the server; RSS +%ld KiB\n",
              preface.size(), refused, closed, rss_kib() - rss_before);
  for (int fd : socks)
    ::close(fd);
  // And lets go of every one.
  EXPECT_TRUE(wait_until([&] { return open_fds() <= fds_before + 8; }, 30s))
    << open_fds() - fds_before << " descriptors still open";
  expect_unharmed();
}

// gRPC 1.51's listener stops accepting for good once accept() fails for lack
// of file descriptors (CVE-2023-4785, fixed in gRPC 1.55.3 and later). What
// holds: clients already connected keep being served. The server therefore
// raises its soft descriptor limit to the hard one (next test).
TEST_F(abuse, a_listener_out_of_file_descriptors) {
#ifdef __SANITIZE_ADDRESS__
  // The sanitizers' own checks need descriptors (UBSan's vptr check tests
  // memory through a pipe): at the limit they report errors that are not there.
  GTEST_SKIP() << "the process runs out of descriptors on purpose";
#endif
  log_capture log;
  spdlog::set_level(spdlog::level::warn);
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  rlimit low = lim;
  low.rlim_cur = static_cast<rlim_t>(open_fds() + 16);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> socks;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  // Our sockets take the last descriptors, so the server cannot accept them.
  for (int i = 0; i < 32; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      break;
    socks.push_back(fd);
    (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  bool refused = wait_until([&] { return !log.lines("grpc: Failed accept4").empty(); }, 10s);
  for (int fd : socks)
    ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
  EXPECT_TRUE(refused) << "the server's accept() never failed";
  auto st = call_on_a_new_connection(3s);
  std::printf("[ abuse    ] out of descriptors: %zu sockets took the last ones; after they "
              "closed, a new connection got: %s\n",
              socks.size(), st.ok() ? "OK" : st.error_message().c_str());
  expect_unharmed(false);
}

TEST(descriptor_limit, the_server_raises_its_soft_limit_to_the_hard_limit) {
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  rlimit low = lim;
  low.rlim_cur = std::min<rlim_t>(lim.rlim_max / 2, 1024);  // Debian's default soft limit
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  rlimit seen{};
  {
    test_server server{[](troupe::server& s) { s.add(probe_service(std::make_shared<probe>())); }};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &seen), 0);
  }
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
  EXPECT_EQ(seen.rlim_cur, lim.rlim_max) << "soft limit left at " << seen.rlim_cur;
}

}  // namespace
}  // namespace troupe::test
