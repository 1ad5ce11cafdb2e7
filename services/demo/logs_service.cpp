// An upload is written in transactions of `batch_size` entries. While one is
// being written the call reads no more input, so a client faster than the
// database is slowed by HTTP/2 flow control. logs_received counts committed
// entries only: a cancelled upload loses its unfinished batch, never part of
// a written one.
#include "logs_service.hpp"

#include <memory>
#include <vector>

#include "demo/v1/logs.pb.h"

namespace troupe::services {

namespace {

using demo::v1::LogEntry;
using demo::v1::UploadResponse;

constexpr size_t batch_size = 100;

bool valid_level(const std::string& level) {
  return level == "debug" || level == "info" || level == "warning" || level == "error";
}

class log_upload : public std::enable_shared_from_this<log_upload> {
public:
  using handle = troupe::client_stream_actor<LogEntry, UploadResponse>;

  log_upload(caf::actor pool, handle self) : pool_(std::move(pool)), self_(std::move(self)) {}

  void add(LogEntry& e) {
    batch_.push_back(std::move(e));
    if (!writing_ && batch_.size() >= batch_size)
      write_batch();
  }

  void end() {
    ended_ = true;
    if (!writing_)
      next();
  }

private:
  // After a batch: write the next one, read more, or answer.
  void next() {
    if (batch_.size() >= batch_size || (ended_ && !batch_.empty()))
      write_batch();
    else if (!ended_)
      self_.resume_input();
    else {
      UploadResponse resp;
      resp.set_logs_received(committed_);
      self_.reply(resp);
    }
  }

  // Writes the whole batch: it may hold a few more than batch_size, entries
  // the transport had read ahead before input paused.
  void write_batch() {
    writing_ = true;
    self_.pause_input();
    std::vector<LogEntry> entries;
    entries.swap(batch_);
    self_.db(
      pool_,
      [entries = std::move(entries)](troupe::db::connection& c) {
        c.transaction([&] {
          for (const auto& e : entries)
            c.exec("INSERT INTO demo_logs (message, level) VALUES (?, ?)", e.message(), e.level());
        });
        return static_cast<int64_t>(entries.size());
      },
      [up = shared_from_this()](troupe::result<int64_t> r) {
        if (!r.ok())
          return up->self_.fail(r.error());
        up->committed_ += *r;
        up->writing_ = false;
        up->next();
      });
  }

  caf::actor pool_;
  handle self_;
  std::vector<LogEntry> batch_;
  int64_t committed_ = 0;
  bool writing_ = false;
  bool ended_ = false;
};

caf::behavior upload_logs(caf::actor pool, log_upload::handle self) {
  auto upload = std::make_shared<log_upload>(std::move(pool), self);
  return {
    [=](LogEntry& e) {
      if (!valid_level(e.level()))
        return self.fail(troupe::invalid_argument("level must be debug, info, warning or error, not '" +
                                                  e.level() + "'"));
      upload->add(e);
    },
    [=](troupe::end_of_input) { upload->end(); },
  };
}

}  // namespace

troupe::service logs_service(caf::actor pool) {
  troupe::service svc{"demo.v1.LogService"};
  svc.client_stream<LogEntry, UploadResponse>("UploadLogs",
                                              [pool](auto self) { return upload_logs(pool, self); });
  return svc;
}

}  // namespace troupe::services
