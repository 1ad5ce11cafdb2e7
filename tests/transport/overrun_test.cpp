// A stream producer that ignores write credit: its call ends with
// RESOURCE_EXHAUSTED once it overruns the window by messages or by bytes, the
// actor learns of it and quits, and the server shuts down in time.
#include <gtest/gtest.h>

#include "support/test_server.hpp"
#include "troupe/call_messages.hpp"

namespace troupe::test {
namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;
using namespace std::chrono_literals;

struct flood {
  std::atomic<int> writes{0};      // write() calls until the call was over
  std::atomic<bool> looped{false};  // the producer's loop has ended
  std::atomic<int> reason{0};       // the cancel_reason it was told, 0 for none
  std::atomic<int> quit{0};         // actors terminated
};

// ServerStream: writes `count` messages of `size` bytes in one go, never
// looking at write()'s result, until the call is over; then waits, without
// finishing, for whatever comes.
troupe::service flood_service(std::shared_ptr<flood> f) {
  troupe::service svc{"bench.v1.Bench"};
  svc.server_stream<StreamRequest, Payload>(
    "ServerStream", [f](troupe::server_stream_actor<StreamRequest, Payload> self) -> caf::behavior {
      self->attach_functor([f](const caf::error&) { ++f->quit; });
      return {
        [=](const StreamRequest& req) {
          Payload msg;
          msg.mutable_data()->assign(static_cast<size_t>(req.size()), 'f');
          for (int i = 0; i < req.count() && !self.call().over(); ++i) {
            ++f->writes;
            self.write(msg);
          }
          f->looped = true;
        },
        [=](troupe::cancelled c) { f->reason = static_cast<int>(c.reason); },
      };
    });
  return svc;
}

// What leaves for a client that does not read (its HTTP/2 window, socket
// buffers) while the producer writes: ~4-5 MiB measured in backpressure_test.
constexpr long unread_slack_bytes = 8 << 20;

// Starts the flood, reads the stream once the producer's loop is over (so
// nothing drains while it writes), and returns the call's status.
grpc::Status flood_call(test_server& server, const flood& f, int count, int size, int* read) {
  auto stub = server.bench();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  StreamRequest req;
  req.set_count(count);
  req.set_size(size);
  auto reader = stub->ServerStream(&ctx, req);
  EXPECT_TRUE(wait_until([&] { return f.looped.load(); }, 20s));
  Payload msg;
  *read = 0;
  while (reader->Read(&msg))
    ++*read;
  return reader->Finish();
}

TEST(overrun, producer_ignoring_credit_is_cut_off_and_its_actor_quits) {
  auto f = std::make_shared<flood>();
  auto cfg = local_config();  // write_window 128, read_window 4
  auto server = std::make_unique<test_server>([&](troupe::server& s) { s.add(flood_service(f)); }, cfg);
  const int endpoints = server->server().stats().endpoints;
  const size_t actors = server->running_actors();
  int read = 0;
  const int size = 64 * 1024;  // 132 of them stay under the byte bound (21 MiB)
  auto st = flood_call(*server, *f, 100000, size, &read);
  std::cout << "producer called write() " << f->writes << " times; client read " << read
            << " messages, then " << st.error_code() << " " << st.error_message() << "\n";
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  // Cut off at the message bound: write_window + read_window queued, the next
  // refused, besides what left meanwhile.
  EXPECT_LE(f->writes, cfg.write_window + cfg.read_window + 1 + unread_slack_bytes / size);
  // The actor was told and quit; its endpoint went with it.
  EXPECT_TRUE(wait_until([&] { return f->quit == 1; }));
  EXPECT_EQ(f->reason, static_cast<int>(cancel_reason::ended));
  EXPECT_TRUE(wait_until([&] { return server->running_actors() == actors; }))
    << server->running_actors() << " actors, " << actors << " before";
  EXPECT_TRUE(wait_until([&] { return server->server().stats().endpoints == endpoints; }))
    << server->server().stats().endpoints << " endpoints, " << endpoints << " before";
  // Shutdown and the actor system's own end (it waits for every actor).
  auto started = std::chrono::steady_clock::now();
  server.reset();
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 5s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
}

TEST(overrun, few_big_messages_are_cut_off_by_bytes) {
  auto f = std::make_shared<flood>();
  auto cfg = local_config();
  cfg.write_window = 200;  // messages alone would allow 204 x 256 KiB = 51 MiB
  cfg.read_window = 4;
  cfg.write_window_bytes = 256 * 1024;
  cfg.max_send_message_bytes = 1024 * 1024;
  test_server server{[&](troupe::server& s) { s.add(flood_service(f)); }, cfg};
  const size_t actors = server.running_actors();
  const int size = 256 * 1024;
  int read = 0;
  auto st = flood_call(server, *f, 1000, size, &read);
  // The byte bound: write_window_bytes + (read_window + 1) x max_send_message_bytes.
  const long bound = cfg.write_window_bytes + (cfg.read_window + 1) * long{cfg.max_send_message_bytes};
  std::cout << "producer called write() " << f->writes << " times (" << size / 1024
            << " KiB each, bound " << bound / 1024 << " KiB); client read " << read << ", then "
            << st.error_code() << " " << st.error_message() << "\n";
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  // The queue held at most `bound` bytes (21 messages); the next write was
  // refused, besides what left meanwhile. Messages alone: over 200.
  EXPECT_LE(f->writes, bound / size + 1 + unread_slack_bytes / size);
  EXPECT_TRUE(wait_until([&] { return f->quit == 1; }));
  EXPECT_EQ(f->reason, static_cast<int>(cancel_reason::ended));
  EXPECT_TRUE(wait_until([&] { return server.running_actors() == actors; }));
}

// The done notification of a call gRPC completed normally reaches an actor
// that finished it through the endpoint but did not quit.
TEST(overrun, actor_still_running_when_its_call_is_done_is_told) {
  auto f = std::make_shared<flood>();
  troupe::service svc{"bench.v1.Bench"};
  svc.server_stream<StreamRequest, Payload>(
    "ServerStream", [f](troupe::server_stream_actor<StreamRequest, Payload> self) -> caf::behavior {
      self->attach_functor([f](const caf::error&) { ++f->quit; });
      return {
        [=](const StreamRequest&) { self.call().endpoint().finish(grpc::Status::OK); },
        [=](troupe::cancelled c) { f->reason = static_cast<int>(c.reason); },
      };
    });
  test_server server{[&](troupe::server& s) { s.add(svc); }};
  auto stub = server.bench();
  grpc::ClientContext ctx;
  auto reader = stub->ServerStream(&ctx, StreamRequest{});
  Payload msg;
  EXPECT_FALSE(reader->Read(&msg));
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(wait_until([&] { return f->quit == 1; }));
  EXPECT_EQ(f->reason, static_cast<int>(cancel_reason::ended));
}

}  // namespace
}  // namespace troupe::test
