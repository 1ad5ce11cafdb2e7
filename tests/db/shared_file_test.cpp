// Several processes opening one new SQLite file at the same instant — servers
// started together, or `troupe apikey create` next to a starting server — all
// start: switching a new file to WAL answers SQLITE_BUSY at once, without the
// busy handler, while another process switches it.
#include <filesystem>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include "troupe/config.hpp"
#include "troupe/db/errors.hpp"
#include "troupe/db/pool.hpp"

namespace troupe::db::testing {
namespace {

constexpr int processes = 6;
constexpr int rounds = 25;

// In a child: waits for the start signal, starts a pool on `url` (two
// connections plus the migration) and exits 0, or prints the failure and exits 1.
[[noreturn]] void start_pool_when_released(int release_fd, const std::string& url) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", size_t{1});
  cfg.set("scheduler.policy", caf::atom("sharing"));
  int code = 0;
  {
    caf::actor_system sys{cfg};
    database_config db;
    db.url = url;
    db.workers = 2;
    char byte;
    // Returns 0 (end of file) when the parent closes its end: every child wakes together.
    if (read(release_fd, &byte, 1) != 0)
      _exit(2);
    try {
      auto p = pool::start(sys, db, {{1, "CREATE TABLE IF NOT EXISTS t (x INTEGER)"}});
    } catch (const failure& f) {
      fprintf(stderr, "child %d: %s\n", getpid(), f.what());
      code = 1;
    }
  }
  _exit(code);
}

TEST(sqlite_shared_file, processes_starting_together_on_a_new_file_all_open_it) {
  auto dir = std::filesystem::temp_directory_path() / ("troupe-shared-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  int failed = 0;
  for (int round = 0; round < rounds; ++round) {
    auto url = "sqlite://" + (dir / ("r" + std::to_string(round) + ".db")).string();
    int gate[2];
    ASSERT_EQ(pipe(gate), 0);
    std::vector<pid_t> children;
    for (int i = 0; i < processes; ++i) {
      pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        close(gate[1]);
        start_pool_when_released(gate[0], url);
      }
      children.push_back(pid);
    }
    close(gate[0]);
    close(gate[1]);  // releases them all
    for (auto pid : children) {
      int status = 0;
      // Bounded by the children's own bound: a lock wait gives up after 5 s.
      ASSERT_EQ(waitpid(pid, &status, 0), pid);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ++failed;
    }
  }
  std::filesystem::remove_all(dir);
  EXPECT_EQ(failed, 0) << "of " << processes * rounds << " starts (their errors are above)";
}

}  // namespace
}  // namespace troupe::db::testing
