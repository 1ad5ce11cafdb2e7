#include "db_seed.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace bench_client {

namespace {

// Calls in flight while seeding: enough to keep a server's pool busy, few
// enough not to queue behind one SQLite write lock for long.
constexpr int seeding_threads = 4;
constexpr auto seeding_timeout = std::chrono::seconds(10);

}  // namespace

seeded_users seed_users(const std::vector<std::unique_ptr<channel_stubs>>& stubs, int count,
                        std::string& problem) {
  // Run-unique emails: the same database may serve many runs, and an email
  // already taken would fail with ALREADY_EXISTS.
  const std::string run_tag =
      std::to_string(getpid()) + "-" +
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  seeded_users users(static_cast<size_t>(count));
  std::atomic<int> next{0};
  std::mutex mu;
  auto seed = [&](channel_stubs& s) {
    for (int i = next++; i < count; i = next++) {
      demo::v1::CreateUserRequest req;
      req.set_name("bench user " + std::to_string(i));
      req.set_email("bench-" + run_tag + "-" + std::to_string(i) + "@example.com");
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + seeding_timeout);
      demo::v1::User user;
      const auto status = s.users->CreateUser(&ctx, req, &user);
      std::string wrong;
      if (!status.ok()) {
        wrong = "CreateUser: " + std::string(status_name(status.error_code())) + " " +
                status.error_message();
      } else if (user.id() <= 0 || user.name() != req.name() || user.email() != req.email()) {
        wrong = "CreateUser answered a different user";
      }
      if (!wrong.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        if (problem.empty())
          problem = "seeding users: " + wrong;
        next = count;  // the other threads stop too
        return;
      }
      users[static_cast<size_t>(i)] = std::move(user);
    }
  };
  std::vector<std::thread> threads;
  const size_t n = std::min(stubs.size(), static_cast<size_t>(seeding_threads));
  for (size_t t = 0; t < n; ++t) threads.emplace_back(seed, std::ref(*stubs[t]));
  for (auto& t : threads) t.join();
  if (!problem.empty())
    users.clear();
  return users;
}

}  // namespace bench_client
