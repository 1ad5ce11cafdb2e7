// The SQLite backend. One connection per worker thread (SQLITE_OPEN_NOMUTEX);
// the pool stops a running statement from its own thread with
// sqlite3_interrupt, and a progress handler stops it at the job's deadline.
#include <cerrno>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.hpp"

namespace troupe::db {

namespace {

using clock = std::chrono::steady_clock;

// Virtual machine instructions between two progress-handler calls: often
// enough to stop within a millisecond or so, rare enough to cost nothing.
constexpr int progress_interval = 1000;

// How long a statement waits for another connection's write lock when its job
// has no deadline of its own (migrations at start-up).
constexpr auto lock_wait_without_deadline = std::chrono::seconds(5);

class sqlite_row final : public row {
public:
  explicit sqlite_row(sqlite3_stmt* stmt) : stmt_(stmt) {}

  size_t size() const override { return static_cast<size_t>(sqlite3_column_count(stmt_)); }
  bool is_null(size_t i) const override { return type(i) == SQLITE_NULL; }

protected:
  int64_t get_int64(size_t i) const override {
    switch (type(i)) {
      case SQLITE_INTEGER:
        return sqlite3_column_int64(stmt_, col(i));
      case SQLITE_TEXT: {
        auto text = get_text(i);
        int64_t v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec == std::errc() && end == text.data() + text.size())
          return v;
        break;
      }
      default:
        break;
    }
    fail(i, "is not an integer");
  }

  double get_double(size_t i) const override {
    auto t = type(i);
    if (t != SQLITE_INTEGER && t != SQLITE_FLOAT)
      fail(i, "is not a number");
    return sqlite3_column_double(stmt_, col(i));
  }

  bool get_bool(size_t i) const override { return get_int64(i) != 0; }

  std::string_view get_text(size_t i) const override {
    auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col(i)));
    return {text ? text : "", static_cast<size_t>(sqlite3_column_bytes(stmt_, col(i)))};
  }

  blob get_blob(size_t i) const override {
    auto data = static_cast<const std::byte*>(sqlite3_column_blob(stmt_, col(i)));
    return blob(data, data + sqlite3_column_bytes(stmt_, col(i)));
  }

private:
  static int col(size_t i) { return static_cast<int>(i); }
  int type(size_t i) const { return sqlite3_column_type(stmt_, col(i)); }

  sqlite3_stmt* stmt_;
};

errc code_for(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
      return errc::already_exists;
    case SQLITE_CONSTRAINT_DATATYPE:
      return errc::invalid_argument;
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return errc::constraint;
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return errc::invalid_argument;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
      return errc::unavailable;
    case SQLITE_INTERRUPT:
      return errc::cancelled;
    default:
      return errc::internal;
  }
}

// Creates `dir` and its missing parents with mode 0700: the database is the
// server's alone. Folders that exist keep their modes; another process
// creating the same folder at the same time is fine.
void create_private_folders(const std::filesystem::path& dir) {
  std::error_code ec;
  if (dir.empty() || std::filesystem::exists(dir, ec))
    return;
  create_private_folders(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw failure(errc::unavailable, "cannot create folder '" + dir.string() + "': " +
                                       std::generic_category().message(errno));
}

// Creates the database file with mode 0600 unless it exists. SQLite would
// create it 0644 (less the umask), readable by every local user; its -wal and
// -shm files take the database file's mode. O_EXCL matters: closing a
// descriptor of a file drops every POSIX lock this process holds on it, so
// an existing database (open in other connections) is never opened here.
void create_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0)
    ::close(fd);
  // Otherwise it exists, or sqlite3_open_v2 fails on it too, with its own message.
}

class sqlite_connection final : public driver {
public:
  sqlite_connection(const std::string& path, std::shared_ptr<job_control> control)
      : driver(backend::sqlite, std::move(control)) {
    create_private_folders(std::filesystem::path(path).parent_path());
    create_private_file(path);
    int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      throw failure(errc::unavailable, "cannot open SQLite database '" + path + "': " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_handler(db_, &sqlite_connection::on_busy, this);
    sqlite3_progress_handler(db_, progress_interval, &sqlite_connection::on_progress, this);
    try {
      // WAL lets readers run alongside the writer; NORMAL sync is safe with WAL.
      switch_to_wal();
      exec_script("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
    } catch (const failure& f) {
      close();
      throw failure(errc::unavailable, "cannot open SQLite database '" + path + "': " + f.message());
    }
    control_->set_interrupter([db = db_] { sqlite3_interrupt(db); });
  }

  ~sqlite_connection() override { close(); }

  void prepare_for_job() override {}

  void exec_script(std::string_view sql) override {
    control_->check();
    guarded_ = true;
    busy_since_.reset();
    char* msg = nullptr;
    int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
      std::string text = msg ? msg : sqlite3_errstr(rc);
      sqlite3_free(msg);
      throw error_for(rc, text);
    }
  }

protected:
  int64_t exec_params(std::string_view sql, const param* ps, size_t count) override {
    auto before = sqlite3_total_changes64(db_);
    run(statement(sql), ps, count, nullptr, true);
    // sqlite3_changes64 still reports the last INSERT/UPDATE/DELETE when this
    // statement was something else; the total tells whether it changed rows.
    return sqlite3_total_changes64(db_) == before ? 0 : sqlite3_changes64(db_);
  }

  void query_params(std::string_view sql, const param* ps, size_t count, row_sink on_row) override {
    run(statement(sql), ps, count, &on_row, true);
  }

  void begin() override { run(statement("BEGIN IMMEDIATE"), nullptr, 0, nullptr, true); }
  void commit() override { run(statement("COMMIT"), nullptr, 0, nullptr, true); }

  void rollback() noexcept override {
    // SQLite may have rolled back already (an interrupted write does so).
    if (sqlite3_get_autocommit(db_))
      return;
    try {
      run(statement("ROLLBACK"), nullptr, 0, nullptr, false);
    } catch (const failure&) {
      // The transaction is gone either way once the statement has failed.
    }
  }

private:
  // Resets a cached statement when its use ends, however it ends.
  struct statement_use {
    sqlite3_stmt* stmt;
    ~statement_use() {
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
    }
  };

  sqlite3_stmt* statement(std::string_view sql) {
    if (in_cursor_)
      throw failure(errc::internal, "a statement ran inside a query's row callback");
    std::string key(sql);
    if (auto i = cache_.find(key); i != cache_.end())
      return i->second;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                nullptr);
    if (rc != SQLITE_OK)
      throw error_for(rc, sqlite3_errmsg(db_));
    cache_.emplace(std::move(key), stmt);
    return stmt;
  }

  // Runs a statement to its end, handing each row to `on_row` when given. A
  // guarded statement stops when the job must; an unguarded one (ROLLBACK)
  // always runs.
  void run(sqlite3_stmt* stmt, const param* ps, size_t count, row_sink* on_row, bool guarded) {
    if (guarded)
      control_->check();
    statement_use use{stmt};
    bind(stmt, ps, count);
    guarded_ = guarded;
    busy_since_.reset();
    sqlite_row current(stmt);
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE)
        break;
      if (rc != SQLITE_ROW)
        throw error_for(rc, sqlite3_errmsg(db_));
      if (on_row) {
        in_cursor_ = true;
        try {
          (*on_row)(current);
        } catch (...) {
          in_cursor_ = false;
          throw;
        }
        in_cursor_ = false;
      }
    }
  }

  void bind(sqlite3_stmt* stmt, const param* ps, size_t count) {
    int expected = sqlite3_bind_parameter_count(stmt);
    if (static_cast<size_t>(expected) != count)
      throw failure(errc::internal, "statement has " + std::to_string(expected) + " placeholders but " +
                                      std::to_string(count) + " values were given");
    for (size_t i = 0; i < count; ++i) {
      int at = static_cast<int>(i) + 1;
      int rc = std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>)
            return sqlite3_bind_null(stmt, at);
          else if constexpr (std::is_same_v<T, int64_t>)
            return sqlite3_bind_int64(stmt, at, v);
          else if constexpr (std::is_same_v<T, double>)
            return sqlite3_bind_double(stmt, at, v);
          else if constexpr (std::is_same_v<T, std::string_view>)
            // A null data pointer would bind NULL instead of ''.
            return sqlite3_bind_text64(stmt, at, v.data() ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8);
          else if (v.size == 0)
            return sqlite3_bind_zeroblob(stmt, at, 0);
          else
            return sqlite3_bind_blob64(stmt, at, v.data, v.size, SQLITE_STATIC);
        },
        ps[i]);
      if (rc != SQLITE_OK)
        throw error_for(rc, sqlite3_errmsg(db_));
    }
  }

  failure error_for(int rc, const std::string& message) const {
    errc code = code_for(rc);
    // Stopped by sqlite3_interrupt, by the progress handler or, waiting for a
    // lock, by the busy handler giving up: say why.
    if ((code == errc::cancelled || code == errc::unavailable) && control_->should_stop())
      code = control_->stop_code();
    return failure(code, message);
  }

  static int on_progress(void* self) {
    auto* c = static_cast<sqlite_connection*>(self);
    return c->guarded_ && c->control_->should_stop() ? 1 : 0;
  }

  // Switching a new file to WAL answers SQLITE_BUSY at once, without calling
  // the busy handler, while another process switches it (servers started
  // together on one new database): retry as long as a lock would be waited for.
  void switch_to_wal() {
    auto until = clock::now() + lock_wait_without_deadline;
    for (;;) {
      int rc = sqlite3_exec(db_, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK)
        return;
      if ((rc & 0xff) != SQLITE_BUSY || clock::now() >= until)
        throw error_for(rc, sqlite3_errmsg(db_));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // Waits for another connection's lock until the job must stop; returning 0
  // makes the statement fail with SQLITE_BUSY.
  static int on_busy(void* self, int attempts) {
    auto* c = static_cast<sqlite_connection*>(self);
    auto now = clock::now();
    if (attempts == 0 || !c->busy_since_)
      c->busy_since_ = now;
    auto limit = c->control_->deadline();
    if (limit == clock::time_point::max())
      limit = *c->busy_since_ + lock_wait_without_deadline;
    if ((c->guarded_ && c->control_->should_stop()) || now >= limit)
      return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(attempts < 10 ? 1 : 5));
    return 1;
  }

  void close() noexcept {
    control_->set_interrupter(nullptr);
    for (auto& entry : cache_)
      sqlite3_finalize(entry.second);
    cache_.clear();
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  bool guarded_ = true;
  bool in_cursor_ = false;
  std::optional<clock::time_point> busy_since_;
};

}  // namespace

std::unique_ptr<driver> open_sqlite(const std::string& path, std::shared_ptr<job_control> control) {
  return std::make_unique<sqlite_connection>(path, std::move(control));
}

}  // namespace troupe::db
