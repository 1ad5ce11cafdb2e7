// The drain: when shutdown begins every call actor is told (troupe::draining).
// Feeds that opt in end at once with UNAVAILABLE, so open feeds no longer hold
// a shutdown for the whole grace; a unary call in flight is not cut.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "support/probe_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using namespace std::chrono_literals;

// Health Watch streams driven on one completion queue, so a thousand cost no
// thread each. Each keeps the last status it read and its final status.
class watch_feeds {
public:
  watch_feeds(const test_server& server, int count, int channels) : feeds_(count) {
    std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> stubs;
    for (int c = 0; c < channels; ++c)
      stubs.push_back(grpc::health::v1::Health::NewStub(server.channel(100 + c)));
    HealthCheckRequest req;  // the whole server
    for (int i = 0; i < count; ++i) {
      auto& f = feeds_[i];
      f.ctx.set_deadline(std::chrono::system_clock::now() + 60s);
      f.reader = stubs[i % channels]->PrepareAsyncWatch(&f.ctx, req, &cq_);
      f.reader->StartCall(&f);
    }
    driver_ = std::thread([this] { drive(); });
  }

  ~watch_feeds() {
    for (auto& f : feeds_)
      f.ctx.TryCancel();
    // Every feed finishes (cancelled or not) before the queue may shut down.
    wait_until([&] { return finished_ == static_cast<int>(feeds_.size()); }, 30s);
    cq_.Shutdown();
    driver_.join();
  }

  int first_reads() const { return first_reads_; }
  int finished() const { return finished_; }

  struct feed {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientAsyncReader<HealthCheckResponse>> reader;
    HealthCheckResponse resp;
    int last_status = -1;
    bool started = false;
    bool finishing = false;
    grpc::Status status;
  };
  const std::vector<feed>& feeds() const { return feeds_; }

private:
  void drive() {
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
      auto& f = *static_cast<feed*>(tag);
      if (f.finishing) {
        ++finished_;
        continue;
      }
      if (f.started && ok) {
        if (f.last_status == -1)
          ++first_reads_;
        f.last_status = f.resp.status();
      }
      f.started = true;
      if (ok) {
        f.reader->Read(&f.resp, &f);
      } else {
        f.finishing = true;
        f.reader->Finish(&f.status, &f);
      }
    }
  }

  std::vector<feed> feeds_;
  grpc::CompletionQueue cq_;
  std::atomic<int> first_reads_{0};
  std::atomic<int> finished_{0};
  std::thread driver_;
};

TEST(drain, open_watches_end_at_once_and_a_unary_call_in_flight_still_finishes) {
  auto cfg = local_config();
  cfg.shutdown_grace_s = 30;
  auto p = std::make_shared<probe>();
  test_server server{[&](troupe::server& s) { s.add(probe_service(p)); }, cfg};

  constexpr int count = 1000;
  // Four connections: max_concurrent_streams (1000) is per connection.
  watch_feeds feeds(server, count, 4);
  ASSERT_TRUE(wait_until([&] { return feeds.first_reads() == count; }, 60s))
    << feeds.first_reads() << " of " << count << " watches answered";

  // A unary call that is still being handled when shutdown begins.
  grpc::ClientContext unary_ctx;
  unary_ctx.set_deadline(std::chrono::system_clock::now() + 60s);
  unary_ctx.AddMetadata("bench-delay-ms", "1000");
  bench::v1::Payload req, resp;
  req.set_data("in flight");
  grpc::Status unary_status;
  auto stub = server.bench(1);
  std::thread unary([&] { unary_status = stub->Unary(&unary_ctx, req, &resp); });
  EXPECT_TRUE(wait_until([&] { return server.server().stats().inflight == count + 1; }));

  auto began = std::chrono::steady_clock::now();
  server.server().shutdown();
  auto took = std::chrono::steady_clock::now() - began;
  unary.join();
  std::cout << "shutdown with " << count << " open watches and one unary call took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  EXPECT_LT(took, 5s) << "open watches held the shutdown (grace 30 s)";
  EXPECT_EQ(server.server().stats().inflight, 0);
  EXPECT_TRUE(unary_status.ok()) << unary_status.error_code() << " " << unary_status.error_message();
  EXPECT_EQ(resp.data(), "in flight");

  ASSERT_TRUE(wait_until([&] { return feeds.finished() == count; }, 30s));
  // Every feed ends UNAVAILABLE. Most read the drain's own status; a few may
  // instead see their connection reset, when the server closes it right after
  // the last call is done and the trailers are still on their way (both say
  // "reconnect" to a gRPC client).
  int unavailable = 0, drained = 0, saw_not_serving = 0;
  std::string other;  // the first other ending, for the failure message
  for (auto& f : feeds.feeds()) {
    unavailable += f.status.error_code() == grpc::StatusCode::UNAVAILABLE;
    bool told = f.status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                f.status.error_message() == "server shutting down; reconnect";
    drained += told;
    if (!told && other.empty())
      other = std::to_string(f.status.error_code()) + " " + f.status.error_message();
    saw_not_serving += f.last_status == HealthCheckResponse::NOT_SERVING;
  }
  std::cout << drained << " of " << count << " feeds read the drain's status; first other ending: "
            << (other.empty() ? "none" : other) << "\n";
  EXPECT_EQ(unavailable, count) << "first other ending: " << other;
  EXPECT_GT(drained, count / 2);
  // The drain comes after the health change, so each watcher learned it first.
  EXPECT_EQ(saw_not_serving, count);
}

}  // namespace
}  // namespace troupe::test
