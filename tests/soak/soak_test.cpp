// Soak: mixed load on the demo services (SQLite) for TROUPE_SOAK_SECONDS
// (default 1800) with clients that finish, cancel, time out and drop their
// connections mid-call. Resources are sampled at quiet points — after a
// warm-up, at the middle and at the end — and at the end must be within 5 %
// of their values after warm-up: resident memory, open file descriptors,
// threads, live actors and call endpoints. Not part of ctest; `make soak`
// runs it.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "demo/demo_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::db::backend;
using clock_type = std::chrono::steady_clock;

struct sample {
  long rss_kib = 0;
  long fds = 0;
  long threads = 0;
  size_t actors = 0;
  int endpoints = 0;
  std::string thread_names;  // "name×count ...", to tell whose threads came
};

// This process's threads by name (/proc/self/task/*/comm).
std::string thread_names() {
  std::map<std::string, int> names;
  for (auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    ++names[name];
  }
  std::string out;
  for (auto& [name, n] : names)
    out += (out.empty() ? "" : " ") + name + "x" + std::to_string(n);
  return out;
}

long count_fds() {
  long n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

std::chrono::seconds soak_length() {
  const char* s = std::getenv("TROUPE_SOAK_SECONDS");
  return std::chrono::seconds(s ? std::atol(s) : 1800);
}

class soak : public troupe::test::demo_app {
protected:
  // One client thread: its own channels, each call one of seven kinds.
  void client(int id, clock_type::time_point until, std::atomic<long>& calls) {
    std::mt19937 rng(static_cast<unsigned>(id));
    auto users = demo::v1::UserService::NewStub(channel(id));
    auto events = demo::v1::EventService::NewStub(channel(id));
    auto logs = demo::v1::LogService::NewStub(channel(id));
    auto chat = demo::v1::ChatService::NewStub(channel(id));
    long n = 0;
    while (clock_type::now() < until) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 5s);
      switch (rng() % 7) {
        case 0: {  // a write that completes
          demo::v1::CreateUserRequest req;
          req.set_name("soak");
          req.set_email("soak-" + std::to_string(id) + "-" + std::to_string(n) + "@example.org");
          demo::v1::User out;
          (void)users->CreateUser(&ctx, req, &out);
          break;
        }
        case 1: {  // a deadline that may pass before the answer
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::microseconds(rng() % 2000));
          demo::v1::GetUserRequest req;
          req.set_user_id(1 + static_cast<int64_t>(rng() % 100));
          demo::v1::User out;
          (void)users->GetUser(&ctx, req, &out);
          break;
        }
        case 2: {  // a server stream cancelled after a few rows
          demo::v1::StreamUsersRequest req;
          auto reader = users->StreamUsers(&ctx, req);
          demo::v1::User u;
          for (int i = 0; i < 3 && reader->Read(&u); ++i) {
          }
          ctx.TryCancel();
          (void)reader->Finish();
          break;
        }
        case 3: {  // a live feed the client gives up on
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(20 + rng() % 80));
          demo::v1::StreamEventsRequest req;
          req.set_user_id(1);
          auto reader = events->StreamEvents(&ctx, req);
          demo::v1::Event e;
          while (reader->Read(&e)) {
          }
          (void)reader->Finish();
          break;
        }
        case 4: {  // an upload, cancelled half the time before it ends
          demo::v1::UploadResponse out;
          auto writer = logs->UploadLogs(&ctx, &out);
          demo::v1::LogEntry entry;
          entry.set_message("soak");
          entry.set_level("info");
          for (int i = 0; i < 5; ++i)
            writer->Write(entry);
          if (rng() % 2)
            ctx.TryCancel();
          else
            writer->WritesDone();
          (void)writer->Finish();
          break;
        }
        case 5: {  // a conversation
          auto stream = chat->Chat(&ctx);
          demo::v1::ChatMessage m;
          m.set_user_id(1);
          m.set_text("hello");
          demo::v1::ChatResponse r;
          for (int i = 0; i < 3 && stream->Write(m) && stream->Read(&r); ++i) {
          }
          stream->WritesDone();
          (void)stream->Finish();
          break;
        }
        case 6: {  // a connection dropped under an open stream
          auto dropped = demo::v1::EventService::NewStub(channel(1000 + id));
          demo::v1::StreamEventsRequest req;
          req.set_user_id(1);
          auto reader = dropped->StreamEvents(&ctx, req);
          ctx.TryCancel();
          (void)reader->Finish();
          break;
        }
      }
      ++n;
    }
    calls += n;
  }

  // Runs the load for `length`, then waits until no call is left in flight.
  long load(std::chrono::seconds length) {
    std::atomic<long> calls{0};
    auto until = clock_type::now() + length;
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i)
      clients.emplace_back([&, i] { client(i + 1, until, calls); });
    for (auto& t : clients)
      t.join();
    EXPECT_TRUE(troupe::test::wait_until([&] { return server_->stats().inflight == 0; }, 30s));
    return calls;
  }

  sample take() {
    // Quiet: every endpoint and call actor of the load has gone.
    troupe::test::wait_until([&] { return server_->stats().endpoints == base_endpoints_; }, 30s);
    return {troupe::test::rss_kib(), count_fds(), troupe::test::proc_status("Threads"), sys().registry().running(),
            server_->stats().endpoints, thread_names()};
  }

  int base_endpoints_ = 0;
};

void expect_within(const char* what, double before, double after, double tolerance) {
  EXPECT_LE(after, before * (1 + tolerance) + 1) << what << ": " << before << " after warm-up, " << after
                                                 << " at the end";
}

void print(const char* when, long calls, const sample& s) {
  std::printf("soak: %s after %ld calls: rss %ld KiB, fds %ld, threads %ld (%s), actors %zu, endpoints %d\n", when,
              calls, s.rss_kib, s.fds, s.threads, s.thread_names.c_str(), s.actors, s.endpoints);
  std::fflush(stdout);
}

// The rule: at the end, within 5 % of the values after warm-up. The middle
// sample is printed too, so a run tells whether growth goes on or levels off,
// and thread names tell whose threads came.
TEST_P(soak, resources_stay_flat_under_mixed_load) {
  auto length = soak_length();
  base_endpoints_ = server_->stats().endpoints;  // the accepts kept posted
  for (int i = 0; i < 100; ++i)
    create_user("seed", "seed-" + std::to_string(i) + "@example.org");
  auto warmup = std::max<std::chrono::seconds>(10s, length / 10);
  auto half = (length - warmup) / 2;
  long calls = load(warmup);
  auto warm = take();
  print("warm-up", calls, warm);
  calls += load(half);
  print("middle", calls, take());
  long rest = load(half);
  calls += rest;
  auto last = take();
  print("end", calls, last);
  EXPECT_GT(rest, 0);
  expect_within("resident memory (KiB)", warm.rss_kib, last.rss_kib, 0.05);
  expect_within("open file descriptors", warm.fds, last.fds, 0.05);
  expect_within("threads", warm.threads, last.threads, 0.05);
  expect_within("live actors", static_cast<double>(warm.actors), static_cast<double>(last.actors), 0.05);
  EXPECT_EQ(warm.endpoints, last.endpoints);
}

INSTANTIATE_TEST_SUITE_P(sqlite, soak, ::testing::Values(backend::sqlite), troupe::db::testing::backend_name);

}  // namespace
