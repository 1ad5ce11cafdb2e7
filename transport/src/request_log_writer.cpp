#include "troupe/request_log_writer.hpp"

#include <atomic>
#include <string_view>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "troupe/db/run.hpp"

// Records travel only between this process's threads.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::call_record)

namespace troupe {

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using prune_atom = caf::atom_constant<caf::atom("prune")>;

// Rows deleted per statement while pruning: a long backlog never holds the
// table's write lock for long.
constexpr int64_t prune_batch = 10'000;

// Shared by the handles (which count in) and the actor (which counts out).
struct counters {
  std::atomic<size_t> queued{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> failed{0};
};

constexpr std::string_view insert_sql =
  "INSERT INTO request_log (request_id, method, peer, \"user\", status_code, status_message, "
  "duration_us, msgs_in, msgs_out, bytes_in, bytes_out, started_at_ms) "
  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

void insert_rows(db::connection& c, const std::vector<call_record>& rows) {
  // One transaction per batch: one commit (one fsync on SQLite) for all rows.
  c.transaction([&] {
    for (const auto& r : rows) {
      auto started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          r.started_at.time_since_epoch()).count();
      c.exec(insert_sql, r.request_id, r.method, r.peer, r.user, static_cast<int64_t>(r.code),
             r.message, static_cast<int64_t>(r.duration.count()), r.msgs_in, r.msgs_out,
             r.bytes_in, r.bytes_out, static_cast<int64_t>(started_ms));
    }
  });
}

// Deletes the rows of calls started before `cutoff_ms`; returns how many.
int64_t prune_rows(db::connection& c, int64_t cutoff_ms) {
  int64_t total = 0;
  for (;;) {
    int64_t n = c.exec("DELETE FROM request_log WHERE id IN (SELECT id FROM request_log"
                       " WHERE started_at_ms < ? ORDER BY id LIMIT ?)",
                       cutoff_ms, prune_batch);
    total += n;
    if (n < prune_batch)
      return total;
  }
}

struct writer_state {
  std::shared_ptr<counters> counts;
  caf::actor pool;
  request_log_writer::options opts;
  std::vector<call_record> pending;
  bool writing = false;
  bool tick_armed = false;
  uint64_t reported_drops = 0;
  std::chrono::steady_clock::time_point last_report;
  std::vector<caf::response_promise> flushes;

  static inline const char* name = "request_log_writer";
};

using writer_actor = caf::stateful_actor<writer_state>;

void report_drops(writer_actor* self, bool final) {
  auto& st = self->state;
  auto total = st.counts->dropped.load();
  auto now = std::chrono::steady_clock::now();
  if (total == st.reported_drops || (!final && now - st.last_report < st.opts.drop_report_interval))
    return;
  spdlog::warn("request log: {} records dropped (queue of {} full), {} since start",
               total - st.reported_drops, st.opts.queue, total);
  st.reported_drops = total;
  st.last_report = now;
}

void arm_tick(writer_actor* self) {
  auto& st = self->state;
  if (st.tick_armed)
    return;
  st.tick_armed = true;
  self->delayed_send(self, st.opts.interval, tick_atom::value);
}

// Writes what is pending unless a batch is in flight (one at a time, so rows
// keep their order); answers flushes once nothing is left.
void write_batch(writer_actor* self) {
  auto& st = self->state;
  if (st.writing)
    return;
  if (st.pending.empty()) {
    if (!st.flushes.empty()) {
      report_drops(self, true);
      for (auto& rp : st.flushes)
        rp.deliver(st.counts->failed.load() == 0);
      st.flushes.clear();
      self->quit();
    }
    return;
  }
  auto rows = std::make_shared<std::vector<call_record>>(std::move(st.pending));
  st.pending.clear();
  st.writing = true;
  db::run(self, st.pool, db::clock::time_point::max(),
          [rows](db::connection& c) { insert_rows(c, *rows); },
          [self, rows](db::outcome<void> o) {
            auto& st = self->state;
            st.writing = false;
            st.counts->queued -= rows->size();
            if (!o) {
              st.counts->failed += rows->size();
              spdlog::error("request log: {} records not written: {}", rows->size(), to_string(o.error()));
            }
            if (st.pending.size() >= st.opts.batch || !st.flushes.empty())
              write_batch(self);
            else if (!st.pending.empty())
              arm_tick(self);
          });
}

void prune(writer_actor* self) {
  auto& st = self->state;
  auto cutoff = std::chrono::duration_cast<std::chrono::milliseconds>(
                  (std::chrono::system_clock::now() - st.opts.retention).time_since_epoch()).count();
  db::run(self, st.pool, db::clock::time_point::max(),
          [cutoff](db::connection& c) { return prune_rows(c, static_cast<int64_t>(cutoff)); },
          [self](db::outcome<int64_t> o) {
            if (!o)
              spdlog::warn("request log: old rows not deleted: {}", to_string(o.error()));
            else if (*o > 0)
              spdlog::info("request log: deleted {} rows older than {} h", *o, self->state.opts.retention.count());
            self->delayed_send(self, self->state.opts.prune_interval, prune_atom::value);
          });
}

caf::behavior writer(writer_actor* self, std::shared_ptr<counters> counts, caf::actor pool,
                     request_log_writer::options opts) {
  auto& st = self->state;
  st.counts = std::move(counts);
  st.pool = std::move(pool);
  st.opts = opts;
  st.last_report = std::chrono::steady_clock::now();
  if (opts.retention.count() > 0)
    self->send(self, prune_atom::value);
  return {
    [self](call_record& r) {
      auto& st = self->state;
      st.pending.push_back(std::move(r));
      if (st.pending.size() >= st.opts.batch)
        write_batch(self);
      else
        arm_tick(self);
    },
    [self](tick_atom) {
      self->state.tick_armed = false;
      report_drops(self, false);
      write_batch(self);
    },
    [self](prune_atom) { prune(self); },
    [self](flush_atom) -> caf::result<bool> {
      auto rp = self->make_response_promise();
      self->state.flushes.push_back(rp);
      write_batch(self);
      return rp;
    },
  };
}

}  // namespace

struct request_log_writer::state {
  caf::actor_system& sys;
  size_t queue_bound;
  std::shared_ptr<counters> counts = std::make_shared<counters>();
  caf::actor actor;

  state(caf::actor_system& s, size_t bound) : sys(s), queue_bound(bound) {}
  // Without a flush, the writer would keep the actor system from shutting down.
  ~state() { caf::anon_send_exit(actor, caf::exit_reason::user_shutdown); }
};

std::vector<db::migration> request_log_migrations(const std::string& database_url) {
  std::string id = db::id_column(database_url);
  return {
    {300, "CREATE TABLE request_log (" + id + ", request_id TEXT NOT NULL, method TEXT NOT NULL,"
          " peer TEXT NOT NULL, \"user\" TEXT NOT NULL, status_code INTEGER NOT NULL,"
          " status_message TEXT NOT NULL, duration_us BIGINT NOT NULL, msgs_in BIGINT NOT NULL,"
          " msgs_out BIGINT NOT NULL, bytes_in BIGINT NOT NULL, bytes_out BIGINT NOT NULL,"
          " started_at_ms BIGINT NOT NULL);"
          " CREATE INDEX request_log_by_request_id ON request_log (request_id);"
          " CREATE INDEX request_log_by_started_at ON request_log (started_at_ms)"},
  };
}

request_log_writer::request_log_writer(caf::actor_system& sys, caf::actor pool, options opts)
    : state_(std::make_shared<state>(sys, opts.queue)) {
  state_->actor = sys.spawn(writer, state_->counts, std::move(pool), opts);
}

void request_log_writer::record(const call_record& r) const {
  auto& c = *state_->counts;
  if (c.queued.fetch_add(1) >= state_->queue_bound) {
    --c.queued;
    ++c.dropped;
    return;
  }
  caf::anon_send(state_->actor, r);
}

bool request_log_writer::flush(std::chrono::milliseconds timeout) const {
  caf::scoped_actor self{state_->sys};
  bool written = false;
  self->request(state_->actor, timeout, flush_atom::value)
    .receive([&](bool all_written) { written = all_written; },
             [&](caf::error& e) {
               spdlog::warn("request log: flush did not complete: {}", state_->sys.render(e));
             });
  return written;
}

uint64_t request_log_writer::dropped() const {
  return state_->counts->dropped.load();
}

uint64_t request_log_writer::failed() const {
  return state_->counts->failed.load();
}

}  // namespace troupe
