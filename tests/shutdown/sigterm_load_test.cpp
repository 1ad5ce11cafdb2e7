// SIGTERM to the real `troupe` binary under load: 100 CreateUser calls kept in
// flight and 100 open StreamEvents streams. Every call answered OK must be in
// the database afterwards, every stream must end with UNAVAILABLE or CANCELLED
// (never a bare reset), and the process must exit 0 within the grace + 1 s.
// Open feeds end as soon as the signal comes; a second signal must end the
// process at once, whatever the grace.
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "app/demo_load.hpp"
#include "app/troupe_process.hpp"
#include "demo/v1/chat.grpc.pb.h"
#include "demo/v1/events.grpc.pb.h"
#include "demo/v1/users.grpc.pb.h"
#include "support/temp_folder.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;

// The fixture and the load, shared with the SIGKILL test (tests/faults).
class sigterm_load : public sqlite_demo_serve {};

// A status the server sent, not one the client made up when the connection or
// the stream was cut under it ("reset without status").
bool ended_with_status(const stream_outcome& s) {
  if (s.code != grpc::StatusCode::UNAVAILABLE && s.code != grpc::StatusCode::CANCELLED)
    return false;
  for (const char* cut : {"RST_STREAM", "Socket closed", "Connection reset", "Broken pipe", "Stream removed",
                          "GOAWAY", "Transport closed", "Endpoint closing"})
    if (s.message.find(cut) != std::string::npos)
      return false;
  return true;
}

// "code message xN" for each distinct ending.
std::string endings(const std::vector<stream_outcome>& feeds) {
  std::map<std::string, int> seen;
  for (const auto& s : feeds)
    ++seen[std::to_string(s.code) + " " + s.message];
  std::string text;
  for (const auto& [what, n] : seen)
    text += " [" + what + "] x" + std::to_string(n);
  return text;
}

TEST_F(sigterm_load, answered_calls_are_committed_streams_get_a_status_and_exit_is_0_within_the_grace) {
  constexpr double grace_s = 2;
  constexpr int unary_slots = 100;
  constexpr int streams = 100;
  write_config(grace_s);
  troupe_process troupe{{"serve", "--config", config_path.string()}};
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();
  int64_t followed = create_stream_user(port);
  ASSERT_GT(followed, 0);

  std::optional<int> exit_code;
  clock_type::duration exit_after{};
  std::vector<unary_outcome> unary;
  std::vector<stream_outcome> feeds;
  clock_type::time_point signal_time;
  {
    load_client client{port, unary_slots, streams, followed};
    ASSERT_TRUE(client.wait([](auto& c) { return c.established() == streams || c.streams_open() < streams; }))
      << "streams not established: " << client.established() << "\n" << troupe.stderr_text();
    ASSERT_EQ(client.established(), streams) << "a stream ended before the signal\n" << troupe.stderr_text();
    // Steady load: every slot has had calls answered.
    ASSERT_TRUE(client.wait([](auto& c) { return c.unary_ok() >= 3 * unary_slots; }))
      << "only " << client.unary_ok() << " calls answered OK\n" << troupe.stderr_text();

    signal_time = client.signalled();
    troupe.signal(SIGTERM);
    exit_code = troupe.wait_exit(std::chrono::milliseconds(static_cast<int>(grace_s * 1000)) + 2s);
    exit_after = clock_type::now() - signal_time;
    ASSERT_TRUE(exit_code.has_value()) << "still running or killed; stderr:\n" << troupe.stderr_text();

    EXPECT_TRUE(client.wait([](auto& c) { return c.active_slots() == 0 && c.streams_open() == 0; }))
      << client.active_slots() << " call loops and " << client.streams_open() << " streams still running";
    unary = client.unary_outcomes();
    feeds = client.stream_outcomes();
  }

  EXPECT_EQ(*exit_code, 0) << troupe.stderr_text();
  EXPECT_LE(exit_after, std::chrono::duration<double>(grace_s + 1))
    << "exit took " << std::chrono::duration<double>(exit_after).count() << " s";

  int with_trailers = 0;
  for (const auto& s : feeds) {
    with_trailers += s.server_trailers;
    EXPECT_TRUE(ended_with_status(s)) << "stream ended " << s.code << ": " << s.message;
  }

  // Calls in flight when the signal went, and what became of them.
  int in_flight = 0, in_flight_ok = 0, ok = 0;
  std::map<std::string, int> unary_failures;
  for (const auto& u : unary) {
    if (u.code == grpc::StatusCode::OK)
      ++ok;
    else
      ++unary_failures[std::to_string(u.code) + " " + u.message];
    if (u.started < signal_time && u.finished > signal_time) {
      ++in_flight;
      in_flight_ok += u.code == grpc::StatusCode::OK;
    }
    // Refused during shutdown or cut at the grace's end, never a server error.
    EXPECT_TRUE(u.code == grpc::StatusCode::OK || u.code == grpc::StatusCode::UNAVAILABLE ||
                u.code == grpc::StatusCode::CANCELLED)
      << u.email << ": " << u.code << ": " << u.message;
  }
  EXPECT_GT(in_flight, unary_slots / 2) << "the signal did not catch the calls in flight";
  EXPECT_GT(in_flight_ok, 0) << "no call in flight at the signal was answered during the grace";

  auto stored = stored_users();
  std::vector<std::string> lost;
  for (const auto& u : unary) {
    auto row = stored.find(u.email);
    if (u.code == grpc::StatusCode::OK && (row == stored.end() || row->second != u.id))
      lost.push_back(u.email + " (id " + std::to_string(u.id) + ")");
  }
  EXPECT_TRUE(lost.empty()) << lost.size() << " calls answered OK are not stored, first " << lost.front();

  std::ostringstream figures;
  figures << "exit " << *exit_code << " after " << std::chrono::duration<double>(exit_after).count()
          << " s; unary calls " << unary.size() << ", OK " << ok << ", in flight at the signal " << in_flight
          << " (OK " << in_flight_ok << ")";
  // The server's own count, streams included, when it logs it.
  std::smatch admitted;
  auto err = troupe.stderr_text();
  if (std::regex_search(err, admitted, std::regex("shutting down: ([0-9]+) calls in flight")))
    figures << ", in the server " << admitted[1] << " calls";
  figures << "; rows " << stored.size() << "; unary failures:";
  for (const auto& [what, n] : unary_failures)
    figures << " [" << what << "] x" << n;
  figures << "; streams with the server's trailers " << with_trailers << "; stream endings:" << endings(feeds);
  std::cout << figures.str() << std::endl;
  RecordProperty("figures", figures.str());
}

// The first signal tells the feeds at once (they end with UNAVAILABLE, not at
// the grace's end); a chat left open is not a feed and holds the 30 s grace;
// a second signal then ends the process at once.
TEST_F(sigterm_load, feeds_end_at_the_signal_and_a_second_signal_exits_at_once_despite_a_long_grace) {
  constexpr int streams = 100;
  write_config(30);
  troupe_process troupe{{"serve", "--config", config_path.string()}};
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();
  int64_t followed = create_stream_user(port);
  ASSERT_GT(followed, 0);

  load_client client{port, 0, streams, followed};
  ASSERT_TRUE(client.wait([](auto& c) { return c.established() == streams || c.streams_open() < streams; }));
  ASSERT_EQ(client.established(), streams) << troupe.stderr_text();

  // A bidi stream the client keeps open: established once its first message
  // is acknowledged.
  auto chat_stub = demo::v1::ChatService::NewStub(
    grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext chat_ctx;
  chat_ctx.set_deadline(std::chrono::system_clock::now() + call_deadline);
  auto chat = chat_stub->Chat(&chat_ctx);
  demo::v1::ChatMessage hello;
  hello.set_user_id(followed);
  hello.set_text("holding the grace");
  demo::v1::ChatResponse ack;
  ASSERT_TRUE(chat->Write(hello) && chat->Read(&ack)) << troupe.stderr_text();

  auto first = clock_type::now();
  troupe.signal(SIGTERM);
  EXPECT_TRUE(client.wait([](auto& c) { return c.streams_open() == 0; }, 10s))
    << client.streams_open() << " feeds still open after the signal";
  auto feeds_ended = clock_type::now() - first;
  for (const auto& f : client.stream_outcomes()) {
    EXPECT_EQ(f.code, grpc::StatusCode::UNAVAILABLE) << f.message;
    EXPECT_EQ(f.message, "server shutting down; reconnect");
  }
  // Still running (the chat holds the grace): the second signal finds it.
  troupe.signal(SIGTERM);
  auto code = troupe.wait_exit(3s);
  auto exit_after = clock_type::now() - first;
  ASSERT_TRUE(code.has_value()) << "still running or killed; stderr:\n" << troupe.stderr_text();
  EXPECT_EQ(*code, 1) << "a forced exit is not a clean one";
  EXPECT_NE(troupe.stderr_text().find("exiting now"), std::string::npos) << troupe.stderr_text();
  EXPECT_LT(exit_after, 13s);
  chat_ctx.TryCancel();
  while (chat->Read(&ack)) {
  }
  chat->Finish();
  std::cout << "first signal: " << streams << " feeds ended after "
            << std::chrono::duration<double>(feeds_ended).count() << " s; second signal: exit " << *code
            << " after " << std::chrono::duration<double>(exit_after).count() << " s" << std::endl;
}

}  // namespace
}  // namespace troupe::test
