// A cancelled client stream is never taken for a half-close: its handler
// never receives end_of_input (an upload service would commit a partial
// batch on it), while every half-closed upload does.
#include <thread>

#include <gtest/gtest.h>

#include "support/probe_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using bench::v1::Payload;
using bench::v1::Summary;
using namespace std::chrono_literals;

TEST(end_of_input, cancelled_uploads_under_load_never_see_end_of_input) {
  auto p = std::make_shared<probe>();
  auto cfg = local_config();
  cfg.transport_threads = 2;
  test_server server{[&](troupe::server& s) { s.add(probe_service(p)); }, cfg};

  // Other load on the same server: unary calls and bidi streams, on their own connections.
  std::atomic<bool> stop{false};
  std::atomic<long> load_calls{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 2; ++t) {
    load.emplace_back([&, t] {
      auto stub = server.bench(100 + t);
      Payload req, resp;
      req.set_data("load");
      while (!stop) {
        grpc::ClientContext ctx;
        if (t == 0) {
          if (stub->Unary(&ctx, req, &resp).ok())
            ++load_calls;
        } else {
          auto stream = stub->Bidi(&ctx);
          for (int i = 0; i < 8 && stream->Write(req) && stream->Read(&resp); ++i) {
          }
          stream->WritesDone();
          if (stream->Finish().ok())
            ++load_calls;
        }
      }
    });
  }

  // 500 uploads cancelled midway (some right after their last write, some
  // once the server has handled it), and 100 finished ones among them.
  const int cancelled_uploads = 500, finished_uploads = 100, clients = 10;
  std::atomic<int> answered_ok{0}, finished_ok{0};
  std::vector<std::thread> uploaders;
  for (int c = 0; c < clients; ++c) {
    uploaders.emplace_back([&, c] {
      auto stub = server.bench(c);
      Payload msg;
      msg.set_data(std::string(1024, 'u'));
      for (int i = 0; i < (cancelled_uploads + finished_uploads) / clients; ++i) {
        bool finish = i % 6 == 5;
        grpc::ClientContext ctx;
        Summary sum;
        auto writer = stub->ClientStream(&ctx, &sum);
        for (int m = 0; m < 1 + i % 4; ++m)
          writer->Write(msg);
        if (finish) {
          writer->WritesDone();
          if (writer->Finish().ok())
            ++finished_ok;
          continue;
        }
        if (i % 2 == 0) {
          long handled = p->consumed;
          wait_until([&] { return p->consumed > handled; }, 200ms);
        }
        ctx.TryCancel();
        if (writer->Finish().ok())
          ++answered_ok;
      }
    });
  }
  for (auto& t : uploaders)
    t.join();
  stop = true;
  for (auto& t : load)
    t.join();

  const int cancelled_seen = p->cancelled;
  std::cout << cancelled_uploads << " cancelled uploads: " << answered_ok << " answered OK; "
            << finished_ok << " of " << finished_uploads << " finished ones OK; end_of_input "
            << p->ended << " times; " << load_calls << " other calls meanwhile; " << cancelled_seen
            << " actors told of a cancel\n";
  EXPECT_EQ(answered_ok, 0);
  EXPECT_EQ(finished_ok, finished_uploads);
  // Only the finished uploads' handlers saw their input end.
  EXPECT_EQ(p->ended, finished_uploads);
  EXPECT_GT(load_calls, 0);
  EXPECT_TRUE(wait_until([&] { return server.server().stats().inflight == 0; }));
}

}  // namespace
}  // namespace troupe::test
