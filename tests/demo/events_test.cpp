// demo.v1.EventService: stored events then live ones, in id order, each once,
// also for a subscriber that joins while events are being published; a slow
// subscriber is cut off without slowing publishers or other subscribers.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "demo_fixture.hpp"

namespace troupe::test {
namespace {

using demo::v1::Event;
using troupe::db::backend;
using namespace std::chrono_literals;

using events = demo_app;

grpc::Status publish(demo::v1::EventService::Stub& stub, int64_t user_id, const std::string& type,
                     Event* out, const std::string& data = "") {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + troupe::db::testing::patience);
  demo::v1::PublishEventRequest req;
  req.set_user_id(user_id);
  req.set_type(type);
  req.set_data(data);
  return stub.PublishEvent(&ctx, req, out);
}

// A StreamEvents call, subscribed once the constructor returns (the server
// sends headers after subscribing and reading the user's event count).
struct feed {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<Event>> reader;

  feed(demo::v1::EventService::Stub& stub, int64_t user_id, int64_t after_id) {
    ctx.set_deadline(std::chrono::system_clock::now() + troupe::db::testing::patience);
    demo::v1::StreamEventsRequest req;
    req.set_user_id(user_id);
    req.set_after_id(after_id);
    reader = stub.StreamEvents(&ctx, req);
    reader->WaitForInitialMetadata();
  }

  std::vector<int64_t> read_ids(size_t n) {
    std::vector<int64_t> ids;
    for (Event e; ids.size() < n && reader->Read(&e);)
      ids.push_back(e.id());
    return ids;
  }

  grpc::Status cancel() {
    ctx.TryCancel();
    for (Event e; reader->Read(&e);) {
    }
    return reader->Finish();
  }
};

TEST_P(events, publish_stores_the_event_of_a_known_user) {
  Event e;
  EXPECT_EQ(publish(*events_, 99, "login", &e).error_code(), grpc::StatusCode::NOT_FOUND);
  auto user = create_user("Ada", "ada@example.org");
  auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
  ASSERT_TRUE(publish(*events_, user.id(), "login", &e, "from test").ok());
  EXPECT_GT(e.id(), 0);
  EXPECT_EQ(e.user_id(), user.id());
  EXPECT_EQ(e.type(), "login");
  EXPECT_EQ(e.data(), "from test");
  EXPECT_GE(e.created_at_ms(), before);
  EXPECT_EQ(count("demo_events"), 1);
}

TEST_P(events, unknown_user_stream_is_not_found) {
  grpc::ClientContext ctx;
  bound(ctx);
  demo::v1::StreamEventsRequest req;
  req.set_user_id(12345);
  auto reader = events_->StreamEvents(&ctx, req);
  Event e;
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_P(events, stored_then_live_then_resumed) {
  auto ada = create_user("Ada", "ada@example.org");
  auto bob = create_user("Bob", "bob@example.org");
  std::vector<int64_t> ids;
  Event e;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(publish(*events_, ada.id(), "stored", &e).ok());
    ids.push_back(e.id());
  }
  {
    feed f(*events_, ada.id(), 0);
    EXPECT_EQ(f.read_ids(3), ids);
    ASSERT_TRUE(publish(*events_, bob.id(), "other user", &e).ok());
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(publish(*events_, ada.id(), "live", &e).ok());
      ids.push_back(e.id());
    }
    EXPECT_EQ(f.read_ids(2), std::vector<int64_t>(ids.begin() + 3, ids.end()));
    EXPECT_EQ(f.cancel().error_code(), grpc::StatusCode::CANCELLED);
  }
  // Resuming after the second event: the rest, stored now, nothing before.
  feed resumed(*events_, ada.id(), ids[1]);
  EXPECT_EQ(resumed.read_ids(3), std::vector<int64_t>(ids.begin() + 2, ids.end()));
  resumed.cancel();
}

TEST_P(events, subscriber_joining_during_publishing_sees_each_event_once_in_order) {
  auto ada = create_user("Ada", "ada@example.org");
  auto bob = create_user("Bob", "bob@example.org");
  constexpr int per_thread = 150;
  std::mutex mu;
  std::set<int64_t> published;  // Ada's
  std::atomic<int> done{0};
  auto publisher = [&](int64_t user_id, bool record) {
    for (int i = 0; i < per_thread; ++i) {
      Event e;
      auto st = publish(*events_, user_id, "tick", &e);
      ASSERT_TRUE(st.ok()) << st.error_message();
      if (record) {
        std::lock_guard<std::mutex> lock(mu);
        published.insert(e.id());
      }
      ++done;
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(publisher, ada.id(), true);
  threads.emplace_back(publisher, ada.id(), true);
  threads.emplace_back(publisher, bob.id(), false);
  ASSERT_TRUE(wait_until([&] { return done >= 60; }));
  feed f(*events_, ada.id(), 0);
  auto ids = f.read_ids(2 * per_thread);
  for (auto& t : threads)
    t.join();
  ASSERT_EQ(ids.size(), 2u * per_thread);
  for (size_t i = 1; i < ids.size(); ++i)
    ASSERT_LT(ids[i - 1], ids[i]) << "at " << i;
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()), published);
  f.cancel();
}

TEST_P(events, slow_subscriber_is_cut_off_without_slowing_others) {
  auto ada = create_user("Ada", "ada@example.org");
  constexpr int n = 1500;
  // Never reads until the end; its channel keeps gRPC's default 64 KiB window
  // (no BDP probing), so the server feels it within a few events.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto slow_stub = demo::v1::EventService::NewStub(grpc::CreateCustomChannel(
    "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials(), args));
  feed slow(*slow_stub, ada.id(), 0);
  feed fast(*events_, ada.id(), 0);
  std::vector<int64_t> fast_ids;
  std::thread reader([&] { fast_ids = fast.read_ids(n); });
  std::string data(4096, 'd');
  std::vector<int64_t> published;
  for (int i = 0; i < n; ++i) {
    Event e;
    auto st = publish(*events_, ada.id(), "bulk", &e, data);
    ASSERT_TRUE(st.ok()) << st.error_message();
    published.push_back(e.id());
  }
  reader.join();
  EXPECT_EQ(fast_ids, published);
  fast.cancel();

  std::vector<int64_t> slow_ids;
  for (Event e; slow.reader->Read(&e);)
    slow_ids.push_back(e.id());
  auto st = slow.reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  ASSERT_FALSE(slow_ids.empty());
  EXPECT_NE(st.error_message().find("after_id = " + std::to_string(slow_ids.back())), std::string::npos)
    << st.error_message();
  EXPECT_EQ(slow_ids, std::vector<int64_t>(published.begin(), published.begin() + slow_ids.size()));
}

// 100 stored events of 1 MiB each to a subscriber that takes one and then
// stops reading a while: a page ends at page_bytes (1 MiB) as well as at 256
// rows, so the feed holds a page and the write window, not 100 MiB.
TEST_P(events, stored_large_events_are_paged_in_bounded_memory) {
  using namespace std::chrono_literals;
  constexpr int64_t stored = 100;
  auto ada = create_user("Ada", "ada@example.org");
  std::string data(1024 * 1024, 'd');
  auto inserted = submit(*pool_, [data, user = ada.id(), n = stored](troupe::db::connection& c) {
    return c.transaction([&] {
      int64_t added = c.exec("INSERT INTO demo_events (id, user_id, seq, type, data, created_at_ms)"
                             " WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)"
                             " SELECT i, ?, i, 'big', CAST(? AS TEXT), 0 FROM seq",
                             n, user, data);
      c.exec("UPDATE demo_users SET event_count = ? WHERE id = ?", n, user);
      c.exec("UPDATE demo_counters SET last_id = ? WHERE name = 'events'", n);
      return added;
    });
  });
  ASSERT_TRUE(inserted.ok()) << troupe::db::to_string(inserted.error());
  ASSERT_EQ(*inserted, stored);

  long baseline = rss_kib(), peak = baseline;
  feed f(*events_, ada.id(), 0);
  int64_t received = 0;
  auto next = [&] {
    Event e;
    if (!f.reader->Read(&e))
      return false;
    EXPECT_EQ(e.id(), received + 1);
    EXPECT_EQ(e.data().size(), data.size());
    ++received;
    peak = std::max(peak, rss_kib());
    return true;
  };
  ASSERT_TRUE(next());
  // The subscriber stops reading: the feed must wait for it, holding little.
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(25ms);
    peak = std::max(peak, rss_kib());
  }
  while (received < stored && next()) {
  }
  EXPECT_EQ(received, stored);
  EXPECT_EQ(f.cancel().error_code(), grpc::StatusCode::CANCELLED);
  RecordProperty("rss_growth_kib", std::to_string(peak - baseline));
#ifndef __SANITIZE_ADDRESS__
  // A page and the write window are 2 MiB; gRPC's buffers on both ends and
  // the allocator's slack take the rest.
  EXPECT_LT(peak - baseline, 48 * 1024) << "RSS grew from " << baseline << " KiB to " << peak << " KiB";
#endif
}

// A shutdown tells open feeds at once (troupe::draining): each ends with
// UNAVAILABLE and the after_id to resume from, instead of holding the
// shutdown for the whole grace.
TEST_P(events, shutdown_ends_open_feeds_at_once_with_a_resume_point) {
  auto cfg = local_config();
  cfg.shutdown_grace_s = 30;
  serve(cfg);
  auto ada = create_user("Ada", "ada@example.org");
  std::vector<int64_t> ids;
  Event e;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(publish(*events_, ada.id(), "stored", &e).ok());
    ids.push_back(e.id());
  }
  constexpr int feeds = 100;
  std::vector<std::unique_ptr<feed>> open;
  for (int i = 0; i < feeds; ++i) {
    open.push_back(std::make_unique<feed>(*events_, ada.id(), 0));
    ASSERT_EQ(open.back()->read_ids(3), ids) << "feed " << i;
  }

  auto began = std::chrono::steady_clock::now();
  server_->shutdown();
  auto took = std::chrono::steady_clock::now() - began;
  EXPECT_LT(took, 5s) << "open feeds held the shutdown (grace 30 s)";
  std::cout << "shutdown with " << feeds << " open feeds took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";

  // Each feed ends UNAVAILABLE; one whose connection the stopped server reset
  // before its trailers arrived has no resume point (see drain_test.cpp), the
  // others carry the last id they were sent.
  int with_resume_point = 0;
  for (auto& f : open) {
    EXPECT_FALSE(f->reader->Read(&e));
    auto st = f->reader->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
    if (st.error_message() != "server shutting down; reconnect")
      continue;
    auto& trailers = f->ctx.GetServerTrailingMetadata();
    auto it = trailers.find("resume-after-id");
    ASSERT_NE(it, trailers.end());
    EXPECT_EQ(std::string(it->second.data(), it->second.size()), std::to_string(ids.back()));
    ++with_resume_point;
  }
  EXPECT_GT(with_resume_point, feeds / 2);
}

INSTANTIATE_TEST_SUITE_P(backends, events, ::testing::Values(backend::sqlite, backend::postgresql),
                         troupe::db::testing::backend_name);

}  // namespace
}  // namespace troupe::test
