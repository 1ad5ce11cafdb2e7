// SIGTERM to the real `troupe` binary under load: 100 CreateUser calls kept in
// flight and 100 open StreamEvents streams. Every call answered OK must be in
// the database afterwards, every stream must end with UNAVAILABLE or CANCELLED
// (never a bare reset), and the process must exit 0 within the grace + 1 s.
// Open feeds end as soon as the signal comes; a second signal must end the
// process at once, whatever the grace.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <sqlite3.h>

#include "app/troupe_process.hpp"
#include "demo/v1/chat.grpc.pb.h"
#include "demo/v1/events.grpc.pb.h"
#include "demo/v1/users.grpc.pb.h"
#include "support/temp_folder.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using demo::v1::Event;
using demo::v1::User;

// Longest any client call may take: nothing in a test waits forever.
constexpr auto call_deadline = 60s;
// Longest a step (start-up, streams opening, clients draining) may take.
constexpr auto step_timeout = 20s;

struct unary_outcome {
  std::string email;
  int64_t id = 0;
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message;
  clock_type::time_point started;
  clock_type::time_point finished;
};

struct stream_outcome {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message;
  bool server_trailers = false;  // the server's own trailers (x-request-id) arrived
};

// One completion queue polled by one thread drives every call. Unary slots
// each keep one CreateUser in flight until told to stop; streams stay open
// until the server ends them.
class load_client {
public:
  load_client(int port, int unary_slots, int streams, int64_t stream_user) {
    // Two connections, as two clients would have: one for the calls, one for
    // the streams (distinct arguments keep gRPC from sharing one).
    users_ = demo::v1::UserService::NewStub(channel(port, 1));
    events_ = demo::v1::EventService::NewStub(channel(port, 2));
    poller_ = std::thread([this] { poll(); });
    std::lock_guard lock(m_);
    for (int i = 0; i < unary_slots; ++i) {
      slots_.push_back(std::make_unique<unary_slot>(*this, i));
      slots_.back()->start();
    }
    active_slots_ = unary_slots;
    for (int i = 0; i < streams; ++i) {
      feeds_.push_back(std::make_unique<stream>(*this, stream_user));
      feeds_.back()->start();
    }
    streams_open_ = streams;
  }

  ~load_client() {
    {
      std::unique_lock lock(m_);
      stop_ = true;
      // Whatever still runs (a failed test) ends now, so the queue can close.
      for (auto& s : slots_)
        s->ctx->TryCancel();
      for (auto& f : feeds_)
        f->ctx.TryCancel();
      cv_.wait_for(lock, step_timeout, [&] { return active_slots_ == 0 && streams_open_ == 0; });
    }
    cq_.Shutdown();
    poller_.join();
  }

  // From here on a slot stops after its first call started since: a refused
  // call returns at once, and 100 slots retrying would spin a core the server
  // needs for its drain.
  clock_type::time_point signalled() {
    std::lock_guard lock(m_);
    signal_time_ = clock_type::now();
    return *signal_time_;
  }

  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = step_timeout) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, timeout, [&] { return pred(*this); });
  }

  int established() const { return established_; }
  int streams_open() const { return streams_open_; }
  int active_slots() const { return active_slots_; }
  int unary_ok() const { return unary_ok_; }

  std::vector<unary_outcome> unary_outcomes() {
    std::lock_guard lock(m_);
    return unary_;
  }

  std::vector<stream_outcome> stream_outcomes() {
    std::lock_guard lock(m_);
    std::vector<stream_outcome> all;
    for (auto& f : feeds_)
      all.push_back(f->outcome);
    return all;
  }

private:
  struct pending {
    virtual ~pending() = default;
    virtual void proceed(bool ok) = 0;  // called on the poller with m_ held
  };

  class unary_slot : public pending {
  public:
    unary_slot(load_client& client, int index) : client_(client), index_(index) {}

    void start() {
      ctx = std::make_unique<grpc::ClientContext>();
      ctx->set_deadline(std::chrono::system_clock::now() + call_deadline);
      demo::v1::CreateUserRequest req;
      req.set_name("load " + std::to_string(index_));
      req.set_email("u" + std::to_string(index_) + "-" + std::to_string(seq_++) + "@sigterm.test");
      current_ = {req.email(), 0, grpc::StatusCode::UNKNOWN, "", clock_type::now(), {}};
      reader_ = client_.users_->PrepareAsyncCreateUser(ctx.get(), req, &client_.cq_);
      reader_->StartCall();
      reader_->Finish(&reply_, &status_, this);
    }

    void proceed(bool) override {
      current_.finished = clock_type::now();
      current_.code = status_.error_code();
      current_.message = status_.error_message();
      if (status_.ok()) {
        current_.id = reply_.id();
        ++client_.unary_ok_;
      }
      client_.unary_.push_back(current_);
      bool after_signal = client_.signal_time_ && current_.started >= *client_.signal_time_;
      if (client_.stop_ || after_signal)
        --client_.active_slots_;
      else
        start();
      client_.cv_.notify_all();
    }

    std::unique_ptr<grpc::ClientContext> ctx;

  private:
    load_client& client_;
    int index_;
    int seq_ = 0;
    unary_outcome current_;
    User reply_;
    grpc::Status status_;
    std::unique_ptr<grpc::ClientAsyncResponseReader<User>> reader_;
  };

  class stream : public pending {
  public:
    stream(load_client& client, int64_t user_id) : client_(client), user_id_(user_id) {}

    void start() {
      ctx.set_deadline(std::chrono::system_clock::now() + call_deadline);
      demo::v1::StreamEventsRequest req;
      req.set_user_id(user_id_);
      reader_ = client_.events_->PrepareAsyncStreamEvents(&ctx, req, &client_.cq_);
      reader_->StartCall(this);
    }

    void proceed(bool ok) override {
      if (step_ == step::finishing) {
        outcome.code = status_.error_code();
        outcome.message = status_.error_message();
        outcome.server_trailers = ctx.GetServerTrailingMetadata().count("x-request-id") > 0;
        --client_.streams_open_;
        client_.cv_.notify_all();
        return;
      }
      if (!ok) {
        step_ = step::finishing;
        return reader_->Finish(&status_, this);
      }
      if (step_ == step::starting) {
        step_ = step::metadata;
        return reader_->ReadInitialMetadata(this);
      }
      if (step_ == step::metadata) {
        // The server sends headers once the feed is subscribed: established.
        ++client_.established_;
        client_.cv_.notify_all();
      }
      step_ = step::reading;
      reader_->Read(&event_, this);
    }

    grpc::ClientContext ctx;
    stream_outcome outcome;

  private:
    enum class step { starting, metadata, reading, finishing };
    load_client& client_;
    int64_t user_id_;
    step step_ = step::starting;
    Event event_;
    grpc::Status status_;
    std::unique_ptr<grpc::ClientAsyncReader<Event>> reader_;
  };

  static std::shared_ptr<grpc::Channel> channel(int port, int n) {
    grpc::ChannelArguments args;
    args.SetInt("troupe.test.channel", n);
    return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(),
                                     args);
  }

  void poll() {
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
      std::lock_guard lock(m_);
      static_cast<pending*>(tag)->proceed(ok);
    }
  }

  std::unique_ptr<demo::v1::UserService::Stub> users_;
  std::unique_ptr<demo::v1::EventService::Stub> events_;
  grpc::CompletionQueue cq_;
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<unary_slot>> slots_;
  std::vector<std::unique_ptr<stream>> feeds_;
  std::vector<unary_outcome> unary_;
  std::optional<clock_type::time_point> signal_time_;
  bool stop_ = false;
  // Changed under m_ (with a notify); atomic so that progress can be read
  // in failure messages too.
  std::atomic<int> active_slots_{0};
  std::atomic<int> streams_open_{0};
  std::atomic<int> established_{0};
  std::atomic<int> unary_ok_{0};
  std::thread poller_;
};

// A temp folder with a config serving the demo on an SQLite file in it.
class sigterm_load : public ::testing::Test {
protected:
  // One database worker (SQLite has one writer anyway): calls queue for it
  // inside the server, admitted, so the signal finds them there rather than
  // still in the client's or the kernel's buffers.
  void write_config(double grace_s) {
    std::ofstream(config_path) << "[server]\nport = 0\nshutdown_grace_s = " << grace_s
                               << "\ntransport_threads = 1\n"
                                  "[scheduler]\nmax_threads = 2\n"
                                  "[database]\nworkers = 1\nurl = \"sqlite://"
                               << db_path.string() << "\"\n";
  }

  // The user every stream follows (StreamEvents needs an existing user).
  static int64_t create_stream_user(int port) {
    auto stub = demo::v1::UserService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + step_timeout);
    demo::v1::CreateUserRequest req;
    req.set_name("followed");
    req.set_email("followed@sigterm.test");
    User user;
    auto st = stub->CreateUser(&ctx, req, &user);
    EXPECT_TRUE(st.ok()) << st.error_code() << ": " << st.error_message();
    return user.id();
  }

  // email -> id of every row in demo_users, read after the server is gone.
  std::map<std::string, int64_t> stored_users() {
    std::map<std::string, int64_t> users;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << db_path << ": " << sqlite3_errmsg(db);
      sqlite3_close(db);
      return users;
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT email, id FROM demo_users", -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db);
    } else {
      int rc;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        users[reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))] = sqlite3_column_int64(stmt, 1);
      EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return users;
  }

  temp_folder dir{"troupe-sigterm"};
  std::filesystem::path db_path = dir / "demo.db";
  std::filesystem::path config_path = dir / "troupe.toml";
};

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
