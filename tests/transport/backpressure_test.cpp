// Backpressure both ways: a client that stops reading bounds what the server
// produces; a handler slower than its client slows the client.
#include <gtest/gtest.h>

#include "support/probe_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;
using bench::v1::Summary;
using namespace std::chrono_literals;

// Waits until `value` stops changing for `quiet` (bounded by `timeout`).
bool settles(const std::function<long()>& value, std::chrono::milliseconds quiet,
             std::chrono::milliseconds timeout = 20s) {
  auto end = std::chrono::steady_clock::now() + timeout;
  long last = value();
  auto since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(10ms);
    long now = value();
    if (now != last) {
      last = now;
      since = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - since >= quiet) {
      return true;
    }
  }
  return false;
}

TEST(backpressure, server_stream_to_a_client_that_never_reads_stays_bounded) {
  auto p = std::make_shared<probe>();
  test_server server{[&](troupe::server& s) { s.add(probe_service(p)); }};
  auto stub = server.bench();
  long rss_before = rss_kib();
  grpc::ClientContext ctx;
  StreamRequest req;
  req.set_count(1000000);
  req.set_size(1024);
  auto reader = stub->ServerStream(&ctx, req);  // never read
  ASSERT_TRUE(wait_until([&] { return p->paused == 1; }));
  ASSERT_TRUE(settles([&] { return p->produced.load(); }, 500ms));
  long produced = p->produced;
  long grown_kib = rss_kib() - rss_before;
  std::cout << "produced " << produced << " of 1000000 (1 KiB each); rss grew " << grown_kib
            << " KiB\n";
  // The transport's window plus what HTTP/2 flow control lets the (unread)
  // client buffer: a few MiB, never the 1 GiB an unbounded producer would make.
  EXPECT_LT(produced, 20000);
  EXPECT_LT(grown_kib, 64 * 1024);
  EXPECT_EQ(p->paused, 1);
  ctx.TryCancel();
  EXPECT_TRUE(wait_until([&] { return p->cancelled == 1; }));
}

// Messages of 256 KiB produced for a client that never reads, until the
// producer pauses and nothing more moves.
long produced_for_non_reader(int write_window_bytes) {
  auto p = std::make_shared<probe>();
  auto cfg = local_config();
  cfg.write_window = 32;
  cfg.write_window_bytes = write_window_bytes;
  test_server server{[&](troupe::server& s) { s.add(probe_service(p)); }, cfg};
  auto stub = server.bench();
  grpc::ClientContext ctx;
  StreamRequest req;
  req.set_count(10000);
  req.set_size(256 * 1024);
  auto reader = stub->ServerStream(&ctx, req);  // never read
  EXPECT_TRUE(wait_until([&] { return p->paused == 1; }));
  EXPECT_TRUE(settles([&] { return p->produced.load(); }, 500ms));
  long produced = p->produced;
  ctx.TryCancel();
  EXPECT_TRUE(wait_until([&] { return p->cancelled == 1; }));
  return produced;
}

TEST(backpressure, large_messages_to_a_client_that_never_reads_pause_by_bytes) {
  long by_bytes = produced_for_non_reader(1 << 20);
  long by_count = produced_for_non_reader(1 << 30);  // only the 32-message window
  std::cout << "256 KiB messages produced: " << by_bytes << " with a 1 MiB window, " << by_count
            << " with the message window alone\n";
  // 1 MiB of window instead of 8 MiB (32 x 256 KiB); the rest is what HTTP/2
  // lets gRPC buffer, the same in both runs.
  EXPECT_LE(by_bytes + 24, by_count);
  EXPECT_LT(by_bytes * 256, 8 * 1024);  // under 8 MiB in all
}

TEST(backpressure, slow_client_stream_handler_slows_its_client) {
  auto p = std::make_shared<probe>();
  p->slow_ms = 3;
  auto cfg = local_config();
  test_server server{[&](troupe::server& s) { s.add(probe_service(p)); }, cfg};
  auto stub = server.bench();
  const int n = 600;
  Payload msg;
  msg.mutable_data()->assign(128 * 1024, 's');  // 600 x 128 KiB = 75 MiB in all
  grpc::ClientContext ctx;
  Summary sum;
  auto writer = stub->ClientStream(&ctx, &sum);
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(writer->Write(msg));
  long ahead = n - p->consumed;  // written by the client, not yet handled
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(sum.count(), n);
  std::cout << "client was " << ahead << " messages ahead when its writes returned; at most "
            << p->max_unfinished << " requests held by the actor\n";
  // Without flow control the client would finish writing almost at once,
  // ~600 ahead; with it, only what HTTP/2 windows and socket buffers hold,
  // which gRPC's bandwidth probing and the kernel grow as data flows
  // (measured 30-243 messages, 4-30 MiB).
  EXPECT_LT(ahead, n * 2 / 3);
  // Reads stop while the actor is busy: it never holds more than the window.
  EXPECT_LE(p->max_unfinished.load(), static_cast<size_t>(cfg.read_window));
}

TEST(backpressure, bidi_client_that_stops_reading_is_slowed_not_dropped) {
  auto p = std::make_shared<probe>();
  test_server server{[&](troupe::server& s) { s.add(probe_service(p)); }};
  auto stub = server.bench();
  grpc::ClientContext ctx;
  auto stream = stub->Bidi(&ctx);
  const int n = 2000;
  std::atomic<int> written{0};
  std::thread writer([&] {
    Payload msg;
    msg.mutable_data()->assign(16 * 1024, 'b');
    for (int i = 0; i < n; ++i) {
      if (!stream->Write(msg))
        return;
      ++written;
    }
    stream->WritesDone();
  });
  // Nobody reads yet: the writer must get stuck well before the end.
  ASSERT_TRUE(settles([&] { return long{written.load()}; }, 500ms));
  std::cout << "writer stuck after " << written << " of " << n << " messages\n";
  EXPECT_LT(written.load(), n);
  Payload echo;
  int read = 0;
  while (stream->Read(&echo))
    ++read;
  writer.join();
  auto st = stream->Finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(read, n);
}

}  // namespace
}  // namespace troupe::test
