// An upload is written in transactions of `batch_size` entries. While one is
// being written the call reads no more input, so a client faster than the
// database is slowed by HTTP/2 flow control. logs_received counts committed
// entries only: a cancelled upload loses its unfinished batch, never part of
// a written one.
#include "logs_service.hpp"

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

struct upload_state {
  std::vector<LogEntry> batch;
  int64_t committed = 0;
  bool writing = false;
  bool ended = false;
};
using upload = troupe::client_stream_actor<LogEntry, UploadResponse, upload_state>;

void next(upload self, const caf::actor& pool);

// Writes the whole batch: it may hold a few more than batch_size, entries the
// transport had read ahead before input paused.
void write_batch(upload self, const caf::actor& pool) {
  auto& s = self.state();
  s.writing = true;
  self.pause_input();
  std::vector<LogEntry> entries;
  entries.swap(s.batch);
  self.db(
    pool,
    [entries = std::move(entries)](troupe::db::connection& c) {  // a worker: owns its entries
      c.transaction([&] {
        for (const auto& e : entries)
          c.exec("INSERT INTO demo_logs (message, level) VALUES (?, ?)", e.message(), e.level());
      });
      return static_cast<int64_t>(entries.size());
    },
    [self, pool](troupe::result<int64_t> r) {  // back in the actor
      if (!r.ok())
        return self.fail(r.error());
      auto& s = self.state();
      s.committed += *r;
      s.writing = false;
      next(self, pool);
    });
}

// After a batch: write the next one, read more, or answer.
void next(upload self, const caf::actor& pool) {
  auto& s = self.state();
  if (s.batch.size() >= batch_size || (s.ended && !s.batch.empty()))
    write_batch(self, pool);
  else if (!s.ended)
    self.resume_input();
  else {
    UploadResponse resp;
    resp.set_logs_received(s.committed);
    self.reply(resp);
  }
}

caf::behavior upload_logs(caf::actor pool, upload self) {
  return {
    [=](LogEntry& e) {
      if (!valid_level(e.level()))
        return self.fail(troupe::invalid_argument("level must be debug, info, warning or error, not '" +
                                                  e.level() + "'"));
      auto& s = self.state();
      s.batch.push_back(std::move(e));
      if (!s.writing && s.batch.size() >= batch_size)
        write_batch(self, pool);
    },
    [=](troupe::end_of_input) {
      self.state().ended = true;
      if (!self.state().writing)
        next(self, pool);
    },
  };
}

}  // namespace

troupe::service logs_service(caf::actor pool) {
  troupe::service svc{"demo.v1.LogService"};
  svc.client_stream<LogEntry, UploadResponse>("UploadLogs",
                                              [pool](upload self) { return upload_logs(pool, self); });
  return svc;
}

}  // namespace troupe::services
