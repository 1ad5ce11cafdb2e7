// PostgreSQL killed under load: client threads call CreateUser on the demo
// (an in-process server, then the `troupe` binary with its request log
// writing to the same database) while the postmaster gets SIGKILL (its backends exit
// when they notice, without a word to their clients) and is started again
// with pg_ctl. While it is down calls must fail with UNAVAILABLE (or at worst
// their deadline), never INTERNAL and never hang; after the restart the pool
// must reconnect on its own and calls succeed again; and every call answered
// OK must have its row. Runs on its own cluster (the fixture db_pg_faults).
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <libpq-fe.h>

#include "app/demo_load.hpp"
#include "app/troupe_process.hpp"
#include "demo/demo_fixture.hpp"
#include "support/temp_folder.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;
using troupe::db::testing::patience;

constexpr int client_threads = 6;
// Each call's own deadline: a call still open past it (plus a margin) hangs.
constexpr auto call_deadline = 5s;
// A refused client waits this long before its next call, as a retrying client
// would: six threads failing in a tight loop would take the cores the
// database server needs to start again.
constexpr auto retry_pause = 20ms;
// Bounds the load whatever happens.
constexpr int max_calls_per_thread = 20'000;

// CreateUser in a loop on several threads, each on its own connection, until
// stopped; every call's outcome is kept.
class create_user_load {
public:
  template <class MakeChannel>
  create_user_load(int threads, MakeChannel make_channel) {
    for (int t = 0; t < threads; ++t)
      threads_.emplace_back(
        [this, t, stub = demo::v1::UserService::NewStub(make_channel(t + 1))] { run(t, *stub); });
  }

  ~create_user_load() { stop(); }

  void stop() {
    {
      std::lock_guard lock(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }

  // Waits until `pred(outcomes)` holds (checked after every call), at most `timeout`.
  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = patience) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, timeout, [&] { return pred(outcomes_); });
  }

  std::vector<unary_outcome> outcomes() {
    std::lock_guard lock(m_);
    return outcomes_;
  }

private:
  void run(int thread, demo::v1::UserService::Stub& users) {
    for (int i = 0; i < max_calls_per_thread; ++i) {
      demo::v1::CreateUserRequest req;
      req.set_name("load " + std::to_string(thread));
      req.set_email("t" + std::to_string(thread) + "-" + std::to_string(i) + "@pg-kill.test");
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + call_deadline);
      demo::v1::User user;
      unary_outcome o{req.email(), 0, grpc::StatusCode::UNKNOWN, "", clock_type::now(), {}};
      auto st = users.CreateUser(&ctx, req, &user);
      o.finished = clock_type::now();
      o.code = st.error_code();
      o.message = st.error_message();
      o.id = user.id();
      std::unique_lock lock(m_);
      outcomes_.push_back(std::move(o));
      cv_.notify_all();
      if (stop_ || (!st.ok() && cv_.wait_for(lock, retry_pause, [&] { return stop_; })))
        return;
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<unary_outcome> outcomes_;
  std::vector<std::thread> threads_;  // last: started once the rest exists
};

// A process that has ended: gone, or a zombie nobody reaps (a container's
// init may not), which holds neither sockets nor shared memory any more.
bool has_exited(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat))
    return true;
  auto close = stat.rfind(')');
  return close == std::string::npos || stat.compare(close + 1, 3, " Z ") == 0;
}

// The processes whose parent is `parent` (the postmaster's: backends and
// PostgreSQL's own auxiliary processes).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    auto name = entry.path().filename().string();
    if (!std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat))
      continue;  // ended meanwhile
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    std::istringstream rest(stat.substr(stat.rfind(')') + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent)
      children.push_back(std::stoi(name));
  }
  return children;
}

// The postmaster's pid: the first line of the data folder's postmaster.pid.
pid_t postmaster_pid(const std::string& pid_file) {
  std::ifstream in(pid_file);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

// email -> id of every demo_users row, read with libpq outside the server's pool.
std::map<std::string, int64_t> stored_users(const std::string& url) {
  std::map<std::string, int64_t> users;
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    ADD_FAILURE() << PQerrorMessage(conn);
  } else {
    PGresult* res = PQexec(conn, "SELECT email, id FROM demo_users");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
      ADD_FAILURE() << PQresultErrorMessage(res);
    else
      for (int r = 0; r < PQntuples(res); ++r)
        users[PQgetvalue(res, r, 0)] = std::stoll(PQgetvalue(res, r, 1));
    PQclear(res);
  }
  PQfinish(conn);
  return users;
}

double seconds(clock_type::duration d) {
  return std::chrono::duration<double>(d).count();
}

// "code message xN" for each distinct code and message.
std::string tally(const std::vector<unary_outcome>& calls) {
  std::map<std::string, int> seen;
  for (const auto& c : calls)
    ++seen[std::to_string(c.code) + " " + c.message];
  std::string text;
  for (const auto& [what, n] : seen)
    text += " [" + what + "] x" + std::to_string(n);
  return text;
}

class postgres_kill : public demo_app {
protected:
  // The whole scenario against the demo server listening on `port`; `server`
  // names it in the figures.
  void kill_postgres_under_load(int port, const std::string& server);
};

void postgres_kill::kill_postgres_under_load(int port, const std::string& server) {
  const std::string data = troupe::db::testing::postgres_dir() + "/data";
  create_user_load load{client_threads, [port](int n) {
    grpc::ChannelArguments args;
    args.SetInt("troupe.test.channel", n);
    return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args);
  }};
  auto ok_count = [](const std::vector<unary_outcome>& all) {
    return std::count_if(all.begin(), all.end(), [](auto& o) { return o.code == grpc::StatusCode::OK; });
  };
  ASSERT_TRUE(load.wait([&](auto& all) { return ok_count(all) >= 200; })) << tally(load.outcomes());

  // SIGKILL: the postmaster cannot tell its backends; each exits once it
  // notices the postmaster is gone.
  pid_t postmaster = postmaster_pid(data + "/postmaster.pid");
  ASSERT_GT(postmaster, 0) << "no pid in " << data << "/postmaster.pid";
  auto children = children_of(postmaster);
  ASSERT_FALSE(children.empty()) << "the postmaster " << postmaster << " has no backends";
  auto kill_time = clock_type::now();
  ASSERT_EQ(kill(postmaster, SIGKILL), 0) << std::strerror(errno);
  auto all_exited = [&] {
    return has_exited(postmaster) && std::all_of(children.begin(), children.end(), has_exited);
  };
  for (auto until = kill_time + patience; !all_exited() && clock_type::now() < until;)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(all_exited()) << "backends of the killed postmaster still run";
  auto exited_after = clock_type::now() - kill_time;

  // Down: the calls made now fail (ten a thread, some 0.2 s of outage).
  auto down_since = kill_time + exited_after;
  ASSERT_TRUE(load.wait([&](auto& all) {
    return std::count_if(all.begin(), all.end(), [&](auto& o) { return o.started > down_since; }) >=
           10 * client_threads;
  })) << tally(load.outcomes());

  // The killed postmaster's lock files stay; pg_cluster.sh start removes them.
  auto restart_time = clock_type::now();
  troupe::db::testing::pg_cluster("start " + troupe::db::testing::postgres_dir());
  ASSERT_FALSE(HasFatalFailure());
  auto up_time = clock_type::now();  // pg_ctl -w returns once connections are accepted

  // Up again: the pool reconnects on its own, and calls succeed.
  std::optional<clock_type::time_point> recovered;
  auto first_ok_after = [&](const std::vector<unary_outcome>& all) {
    for (const auto& o : all)
      if (o.code == grpc::StatusCode::OK && o.started > restart_time && (!recovered || o.finished < *recovered))
        recovered = o.finished;
    return recovered.has_value();
  };
  ASSERT_TRUE(load.wait(first_ok_after)) << "no call succeeded after the restart:" << tally(load.outcomes());
  auto ok_before = ok_count(load.outcomes());
  ASSERT_TRUE(load.wait([&](auto& all) { return ok_count(all) >= ok_before + 200; }))
    << "calls stopped succeeding after the restart:" << tally(load.outcomes());
  load.stop();

  auto calls = load.outcomes();
  int ok = 0, unavailable = 0, deadline = 0, down_calls = 0, after_recovery = 0;
  std::vector<unary_outcome> other, failed_after_recovery, failed;
  auto longest = clock_type::duration::zero();
  for (const auto& c : calls) {
    longest = std::max(longest, c.finished - c.started);
    if (c.code == grpc::StatusCode::OK)
      ++ok;
    else
      failed.push_back(c);
    if (c.code == grpc::StatusCode::UNAVAILABLE)
      ++unavailable;
    else if (c.code == grpc::StatusCode::DEADLINE_EXCEEDED)
      ++deadline;
    else if (c.code != grpc::StatusCode::OK)
      other.push_back(c);
    // Made and answered while the server was gone for good (not starting).
    if (c.started > down_since && c.finished < restart_time) {
      ++down_calls;
      EXPECT_NE(c.code, grpc::StatusCode::OK) << c.email << " answered OK while the database was down";
    }
    if (c.started > *recovered) {
      ++after_recovery;
      if (c.code != grpc::StatusCode::OK)
        failed_after_recovery.push_back(c);
    }
  }
  EXPECT_TRUE(other.empty()) << other.size() << " calls failed with neither UNAVAILABLE nor DEADLINE_EXCEEDED:"
                             << tally(other);
  EXPECT_GT(down_calls, 0) << "no call was made while the database was down";
  EXPECT_LT(longest, call_deadline + 2s) << "a call outlived its deadline by " << seconds(longest - call_deadline)
                                         << " s";
  EXPECT_LT(*recovered - up_time, 10s) << "the pool took " << seconds(*recovered - up_time)
                                       << " s to serve again after the restart";
  EXPECT_TRUE(failed_after_recovery.empty()) << failed_after_recovery.size() << " of " << after_recovery
                                             << " calls failed after the first success:"
                                             << tally(failed_after_recovery);

  // Every write answered OK is in the table; some not answered OK may be too
  // (committed as the server died, the answer lost with the connection).
  auto stored = stored_users(url_);
  std::vector<std::string> lost;
  int stored_unanswered = 0;
  std::set<int64_t> ids;
  for (const auto& c : calls) {
    auto row = stored.find(c.email);
    if (c.code != grpc::StatusCode::OK) {
      stored_unanswered += row != stored.end();
      continue;
    }
    EXPECT_TRUE(ids.insert(c.id).second) << "id " << c.id << " answered twice";
    if (row == stored.end() || row->second != c.id)
      lost.push_back(c.email + " (id " + std::to_string(c.id) + ")");
  }
  EXPECT_TRUE(lost.empty()) << lost.size() << " calls answered OK have no row (acknowledged writes lost), first "
                            << lost.front();

  std::ostringstream figures;
  figures << server << ", postmaster SIGKILL under " << client_threads << " client threads: calls "
          << calls.size() << ", OK " << ok << ", UNAVAILABLE " << unavailable << ", DEADLINE_EXCEEDED " << deadline
          << ", other " << other.size() << "; made while down " << down_calls << "; backends gone " << seconds(exited_after)
          << " s after the kill; pg_ctl start took " << seconds(up_time - restart_time)
          << " s; first OK " << seconds(*recovered - up_time) << " s after it returned ("
          << seconds(*recovered - kill_time) << " s after the kill); failures:" << tally(failed)
          << "; rows " << stored.size() << ", of calls not answered OK " << stored_unanswered << "; lost "
          << lost.size() << "; longest call " << seconds(longest) << " s";
  std::cout << figures.str() << std::endl;
  RecordProperty("figures", figures.str());
}

TEST_P(postgres_kill, calls_fail_unavailable_while_the_server_is_down_succeed_after_and_no_answered_write_is_lost) {
  kill_postgres_under_load(server_->port(), "in-process server");
}

// The binary on the test's database (the fixture's own server stays idle),
// its request log writing a row per call to the same database: the writer's
// failed batches must not hurt the calls, and the process must still stop
// cleanly. Info lines off: nothing reads the process's stderr during the load,
// and a full pipe would stall it.
TEST_P(postgres_kill, the_same_through_troupe_serve_with_the_request_log_on) {
  temp_folder dir{"troupe-pg-kill"};
  std::ofstream(dir / "troupe.toml") << "[server]\nport = 0\n"
                                        "[database]\nworkers = 4\nurl = \""
                                     << url_ << "\"\n[logging]\nlevel = \"warn\"\nrequest_log = \"all\"\n";
  troupe_process troupe{{"serve", "--config", dir / "troupe.toml"}};
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();
  kill_postgres_under_load(port, "troupe serve");
  troupe.signal(SIGTERM);
  EXPECT_EQ(troupe.wait_exit(step_timeout), std::optional<int>{0}) << troupe.stderr_text();
}

INSTANTIATE_TEST_SUITE_P(backend, postgres_kill, ::testing::Values(troupe::db::backend::postgresql),
                         troupe::db::testing::backend_name);

}  // namespace
}  // namespace troupe::test
