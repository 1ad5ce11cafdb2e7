// SIGKILL to the real `troupe` binary while 100 CreateUser calls are in flight
// on an SQLite file: nothing of the server's shutdown runs, the file and its
// WAL stay as the kill left them. A server started again on the same file must
// serve every user whose call was answered OK, under the id it was answered
// with, and hand out new ids after all of them.
#include <gtest/gtest.h>

#include <csignal>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app/demo_load.hpp"
#include "app/troupe_process.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;

class serve_kill : public sqlite_demo_serve {};

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

TEST_F(serve_kill, every_call_answered_ok_before_a_sigkill_is_stored_after_a_restart) {
  constexpr int unary_slots = 100;
  write_config(2);

  std::vector<unary_outcome> unary;
  clock_type::time_point kill_time;
  {
    troupe_process troupe{{"serve", "--config", config_path.string()}};
    int port = troupe.wait_listening();
    ASSERT_NE(port, 0) << troupe.stderr_text();
    load_client client{port, unary_slots, 0, 0};
    // Steady load: every slot has had calls answered, and 100 are in flight.
    ASSERT_TRUE(client.wait([](auto& c) { return c.unary_ok() >= 3 * unary_slots; }))
      << "only " << client.unary_ok() << " calls answered OK\n" << troupe.stderr_text();
    kill_time = client.signalled();
    troupe.signal(SIGKILL);
    // Killed, not exited: wait_exit has no exit code for it.
    EXPECT_FALSE(troupe.wait_exit(step_timeout).has_value()) << troupe.stderr_text();
    ASSERT_TRUE(client.wait([](auto& c) { return c.active_slots() == 0; }))
      << client.active_slots() << " call loops still running after the kill";
    unary = client.unary_outcomes();
  }

  int ok = 0, in_flight = 0, in_flight_ok = 0;
  std::vector<unary_outcome> failed;
  for (const auto& u : unary) {
    if (u.code == grpc::StatusCode::OK)
      ++ok;
    else
      failed.push_back(u);
    if (u.started < kill_time && u.finished > kill_time) {
      ++in_flight;
      in_flight_ok += u.code == grpc::StatusCode::OK;
    }
    // Before the kill nothing fails; after it the client finds the
    // connection gone.
    EXPECT_TRUE(u.code == grpc::StatusCode::OK || u.code == grpc::StatusCode::UNAVAILABLE)
      << u.email << ": " << u.code << ": " << u.message;
  }
  EXPECT_GT(in_flight, unary_slots / 2) << "the kill did not catch the calls in flight";

  // The same file again: every user answered OK is there, and new ids come
  // after the ones answered (the counter committed with each row).
  std::vector<std::string> lost;
  int64_t new_id = 0, highest_ok = 0;
  {
    troupe_process again{{"serve", "--config", config_path.string()}};
    int port = again.wait_listening();
    ASSERT_NE(port, 0) << "no restart on the killed server's file:\n" << again.stderr_text();
    auto users = demo::v1::UserService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
    for (const auto& u : unary) {
      if (u.code != grpc::StatusCode::OK)
        continue;
      highest_ok = std::max(highest_ok, u.id);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + step_timeout);
      demo::v1::GetUserRequest req;
      req.set_user_id(u.id);
      demo::v1::User user;
      auto st = users->GetUser(&ctx, req, &user);
      if (!st.ok() || user.email() != u.email)
        lost.push_back(u.email + " (id " + std::to_string(u.id) + "): " + std::to_string(st.error_code()) + " " +
                       st.error_message() + " " + user.email());
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + step_timeout);
    demo::v1::CreateUserRequest req;
    req.set_name("after the kill");
    req.set_email("after-the-kill@load.test");
    demo::v1::User user;
    auto st = users->CreateUser(&ctx, req, &user);
    EXPECT_TRUE(st.ok()) << st.error_code() << ": " << st.error_message() << "\n" << again.stderr_text();
    new_id = user.id();
    again.signal(SIGTERM);
    EXPECT_EQ(again.wait_exit(step_timeout), std::optional<int>{0}) << again.stderr_text();
  }
  EXPECT_TRUE(lost.empty()) << lost.size() << " calls answered OK are not served after the restart, first "
                            << lost.front();
  EXPECT_GT(new_id, highest_ok) << "an id answered before the kill was handed out again";

  // And in the file itself, read without the server.
  auto stored = stored_users();
  int missing = 0, stored_unanswered = 0;
  for (const auto& u : unary) {
    auto row = stored.find(u.email);
    if (u.code == grpc::StatusCode::OK)
      missing += row == stored.end() || row->second != u.id;
    else
      stored_unanswered += row != stored.end();
  }
  EXPECT_EQ(missing, 0) << "calls answered OK whose row is not in " << db_path;

  std::ostringstream figures;
  figures << "SIGKILL under " << unary_slots << " CreateUser in flight: calls " << unary.size() << ", OK " << ok
          << ", in flight at the kill " << in_flight << " (OK " << in_flight_ok << "); failures:" << tally(failed)
          << "; rows " << stored.size() << ", of calls not answered OK " << stored_unanswered
          << "; answered OK but not served after the restart " << lost.size() << ", not in the file " << missing;
  std::cout << figures.str() << std::endl;
  RecordProperty("figures", figures.str());
}

}  // namespace
}  // namespace troupe::test
