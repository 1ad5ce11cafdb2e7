// Load on the `troupe` binary serving the demo application on an SQLite file:
// CreateUser calls kept in flight and StreamEvents streams held open, all
// driven by one completion queue, and the rows the file holds afterwards.
// The SIGTERM test (tests/shutdown) and the SIGKILL test (tests/faults) share
// it.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "demo/v1/events.grpc.pb.h"
#include "demo/v1/users.grpc.pb.h"
#include "support/temp_folder.hpp"

namespace troupe::test {

using clock_type = std::chrono::steady_clock;

// Longest any client call may take: nothing in a test waits forever.
inline constexpr std::chrono::seconds call_deadline{60};
// Longest a step (start-up, streams opening, clients draining) may take.
inline constexpr std::chrono::seconds step_timeout{20};

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
      req.set_email("u" + std::to_string(index_) + "-" + std::to_string(seq_++) + "@load.test");
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
    demo::v1::User reply_;
    grpc::Status status_;
    std::unique_ptr<grpc::ClientAsyncResponseReader<demo::v1::User>> reader_;
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
    demo::v1::Event event_;
    grpc::Status status_;
    std::unique_ptr<grpc::ClientAsyncReader<demo::v1::Event>> reader_;
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
class sqlite_demo_serve : public ::testing::Test {
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
    req.set_email("followed@load.test");
    demo::v1::User user;
    auto st = stub->CreateUser(&ctx, req, &user);
    EXPECT_TRUE(st.ok()) << st.error_code() << ": " << st.error_message();
    return user.id();
  }

  // email -> id of every row in demo_users, read with SQLite's C API (the
  // server gone, or running: the file is in WAL mode).
  std::map<std::string, int64_t> stored_users();

  temp_folder dir{"troupe-serve-load"};
  std::filesystem::path db_path = dir / "demo.db";
  std::filesystem::path config_path = dir / "troupe.toml";
};

}  // namespace troupe::test
