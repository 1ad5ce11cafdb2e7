// Slots of the db scenario, on the demo application's services (Troupe only):
// GetUser (or GetUserSync, the same read as a sync handler) of users created
// before the run, and UploadLogs. Every reply is
// checked: the user's every field, the count of log entries committed.
#include "slots.h"

#include <algorithm>
#include <optional>

namespace bench_client {

namespace {

using demo::v1::GetUserRequest;
using demo::v1::LogEntry;
using demo::v1::UploadResponse;
using demo::v1::User;

class get_user_slot final : public slot {
 public:
  get_user_slot(worker& w, channel_stubs& stubs, const seeded_users& users, bool sync)
      : slot(w, *stubs.bench, sync ? "get-user-sync" : "get-user"),
        users_stub_(*stubs.users),
        users_(users),
        sync_(sync) {}

  void begin(clock::time_point scheduled) override {
    scheduled_ = scheduled;
    expected_ = &users_[std::uniform_int_distribution<size_t>(0, users_.size() - 1)(w_.rng())];
    rpc_.reset();  // lives in the call's arena: release before its context
    ctx_.emplace();
    ctx_->set_deadline(deadline(false));
    request_.set_user_id(expected_->id());
    reply_.Clear();
    rpc_ = sync_ ? users_stub_.PrepareAsyncGetUserSync(&*ctx_, request_, w_.cq())
                 : users_stub_.PrepareAsyncGetUser(&*ctx_, request_, w_.cq());
    rpc_->StartCall();
    rpc_->Finish(&reply_, &status_, tag_for(0));
  }

 private:
  void on_event(int, bool) override {
    const bool same = reply_.id() == expected_->id() && reply_.name() == expected_->name() &&
                      reply_.email() == expected_->email();
    w_.call_done(kind_, scheduled_, clock::now(), status_, same ? nullptr : "WRONG_USER", 1,
                 reply_.ByteSizeLong());
    finished();
  }

  demo::v1::UserService::Stub& users_stub_;
  const seeded_users& users_;
  const bool sync_;
  const User* expected_ = nullptr;
  std::optional<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<User>> rpc_;
  GetUserRequest request_;
  User reply_;
  grpc::Status status_;
  clock::time_point scheduled_;
};

// Entries carry text (proto3 strings must be UTF-8) of --payload bytes,
// numbered, in every level the service accepts.
class upload_logs_slot final : public slot {
 public:
  upload_logs_slot(worker& w, channel_stubs& stubs)
      : slot(w, *stubs.bench, "upload-logs"),
        logs_stub_(*stubs.logs),
        entries_(static_cast<uint64_t>(w.opts().stream_messages)) {}

  void begin(clock::time_point scheduled) override {
    scheduled_ = scheduled;
    sent_ = 0;
    bytes_ = 0;
    response_.Clear();
    rpc_.reset();
    ctx_.emplace();
    ctx_->set_deadline(deadline(false));
    rpc_ = logs_stub_.PrepareAsyncUploadLogs(&*ctx_, &response_, w_.cq());
    rpc_->StartCall(tag_for(op_start));
  }

 private:
  enum : int { op_start, op_write, op_writes_done, op_finish };

  void on_event(int op, bool ok) override {
    if (op == op_finish) {
      const bool all_committed = response_.logs_received() == static_cast<int64_t>(sent_) &&
                                 sent_ == entries_;
      w_.call_done(kind_, scheduled_, clock::now(), status_,
                   all_committed ? nullptr : "WRONG_COUNT", sent_, bytes_);
      finished();
    } else if (!ok || op == op_writes_done) {
      // A failed write means the call is over; Finish tells how.
      rpc_->Finish(&status_, tag_for(op_finish));
    } else if (sent_ < entries_) {
      static const char* const levels[] = {"debug", "info", "warning", "error"};
      auto& text = *entry_.mutable_message();
      text = "bench log " + std::to_string(w_.next_sequence()) + " ";
      text.resize(std::max(text.size(), static_cast<size_t>(w_.opts().payload)), 'x');
      entry_.set_level(levels[sent_ % 4]);
      ++sent_;
      bytes_ += text.size();
      rpc_->Write(entry_, tag_for(op_write));
    } else {
      rpc_->WritesDone(tag_for(op_writes_done));
    }
  }

  demo::v1::LogService::Stub& logs_stub_;
  const uint64_t entries_;
  std::optional<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientAsyncWriter<LogEntry>> rpc_;
  LogEntry entry_;
  UploadResponse response_;
  grpc::Status status_;
  clock::time_point scheduled_;
  uint64_t sent_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace

std::unique_ptr<slot> make_get_user_slot(worker& w, channel_stubs& stubs,
                                         const seeded_users& users, bool sync) {
  return std::make_unique<get_user_slot>(w, stubs, users, sync);
}

std::unique_ptr<slot> make_upload_logs_slot(worker& w, channel_stubs& stubs) {
  return std::make_unique<upload_logs_slot>(w, stubs);
}

}  // namespace bench_client
