// The PostgreSQL backend over libpq. Statements are sent asynchronously and
// the worker waits in poll() on the socket and on an eventfd the pool can
// signal, so it can PQcancel a statement when its job's owner goes away or its
// deadline passes (no statement_timeout round trip per job). A connection
// found broken is dropped and opened again before the next job.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <libpq-fe.h>

#include "driver.hpp"
#include "placeholders.hpp"
#include "postgres_wire.hpp"

namespace troupe::db {

namespace {

using clock = std::chrono::steady_clock;

// How long a cancelled statement (and the server's handling of its cancel
// request), or a ROLLBACK, gets to end before the connection is closed instead
// (the server may be unreachable). With it a job holds its worker at most its
// deadline plus this grace.
constexpr auto answer_grace = std::chrono::seconds(1);
// libpq's connect_timeout when opening; it rounds anything below 2 s up to 2.
constexpr int connect_timeout_s = 5;

using result_ptr = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Sends cancel requests on a thread of their own. PQcancel opens a connection
// to the server, sends the request and waits for the server to close it: with
// a host that stops answering that takes the TCP connect timeout (~2 min), or
// forever when the connect completes but nothing answers (a hung server still
// accepts through its listen backlog). The worker gives the statement
// answer_grace instead and then closes its connection. At most one request per
// worker is under way: a thread stuck on an unanswered one ends when the
// server answers, or the operating system gives up on its socket.
class canceller {
public:
  // Asks the server to cancel what `conn` runs; false, sending nothing, while
  // an earlier request is still under way or the thread cannot start.
  bool start(PGconn* conn) {
    std::lock_guard<std::mutex> guard(state_->mutex);
    if (state_->busy)
      return false;
    PGcancel* cancel = PQgetCancel(conn);
    if (!cancel)
      return false;
    try {
      std::thread([cancel, st = state_] {
        char msg[256];
        PQcancel(cancel, msg, sizeof msg);
        PQfreeCancel(cancel);
        std::lock_guard<std::mutex> guard(st->mutex);
        st->busy = false;
        st->done.notify_all();
      }).detach();
    } catch (const std::system_error&) {
      PQfreeCancel(cancel);
      return false;
    }
    state_->busy = true;
    return true;
  }

  // Whether the request sent last has been handled by `until`.
  bool wait_until(clock::time_point until) {
    std::unique_lock<std::mutex> lock(state_->mutex);
    return state_->done.wait_until(lock, until, [&] { return !state_->busy; });
  }

private:
  struct state {
    std::mutex mutex;
    std::condition_variable done;
    bool busy = false;
  };
  // Shared with the thread, which may outlive the connection.
  std::shared_ptr<state> state_ = std::make_shared<state>();
};

class postgres_connection final : public driver {
public:
  postgres_connection(std::string uri, std::shared_ptr<job_control> control)
      : driver(backend::postgresql, std::move(control)), uri_(std::move(uri)) {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0)
      throw failure(errc::internal, std::string("eventfd: ") + std::strerror(errno));
    try {
      connect();
    } catch (...) {
      ::close(wake_fd_);
      throw;
    }
    control_->set_interrupter([fd = wake_fd_] {
      uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
    });
  }

  ~postgres_connection() override {
    control_->set_interrupter(nullptr);
    drop();
    ::close(wake_fd_);
  }

  void prepare_for_job() override {
    // Input on an idle connection is the server saying goodbye (a notice,
    // then EOF, which a later read sees): find out now rather than fail the
    // job's first statement. Bounded, should the server keep talking.
    for (int reads = 0; conn_ && reads < 8; ++reads) {
      pollfd p{PQsocket(conn_), POLLIN, 0};
      if (poll(&p, 1, 0) <= 0)
        break;
      if (!PQconsumeInput(conn_) || PQstatus(conn_) != CONNECTION_OK)
        drop();
      while (PGnotify* n = conn_ ? PQnotifies(conn_) : nullptr)
        PQfreemem(n);
    }
    if (!conn_)
      connect();
  }

  void exec_script(std::string_view sql) override {
    control_->check();
    usable();
    if (!PQsendQuery(conn_, std::string(sql).c_str()))
      throw send_failed();
    collect(nullptr, true);
  }

protected:
  int64_t exec_params(std::string_view sql, const param* ps, size_t count) override {
    return execute(statement(sql), ps, count, nullptr);
  }

  void query_params(std::string_view sql, const param* ps, size_t count, row_sink on_row) override {
    execute(statement(sql), ps, count, &on_row);
  }

  void begin() override { simple("BEGIN", true); }
  void commit() override { simple("COMMIT", true); }

  void rollback() noexcept override {
    if (!conn_ || PQtransactionStatus(conn_) == PQTRANS_IDLE)
      return;
    try {
      simple("ROLLBACK", false);
    } catch (const failure&) {
      // A connection that cannot roll back has been dropped, which ends the
      // transaction on the server too.
    }
  }

private:
  void connect() {
    auto timeout = std::to_string(connect_timeout_s);
    // Later keywords override earlier ones: a connect_timeout in the url wins.
    const char* keys[] = {"connect_timeout", "dbname", nullptr};
    const char* values[] = {timeout.c_str(), uri_.c_str(), nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string msg = conn ? PQerrorMessage(conn) : "out of memory";
      PQfinish(conn);
      throw failure(errc::unavailable, "cannot connect to " + redact(uri_) + ": " + trim(msg));
    }
    conn_ = conn;
  }

  void drop() noexcept {
    if (conn_)
      PQfinish(conn_);
    conn_ = nullptr;
    cancel_until_.reset();
    statements_.clear();
  }

  void usable() {
    if (in_cursor_)
      throw failure(errc::internal, "a statement ran inside a query's row callback");
    if (!conn_)
      throw failure(errc::unavailable, "the connection to the database was lost");
  }

  // A send failed: the connection broke, or libpq refused the arguments.
  failure send_failed() {
    if (PQstatus(conn_) == CONNECTION_BAD)
      return lost();
    return failure(errc::internal, trim(PQerrorMessage(conn_)));
  }

  // The connection broke: drop it (the next job opens a new one).
  failure lost() {
    std::string msg = conn_ ? trim(PQerrorMessage(conn_)) : "connection lost";
    drop();
    if (control_->should_stop())
      return failure(control_->stop_code(), msg);
    return failure(errc::unavailable, "the connection to the database was lost: " + msg);
  }

  struct prepared {
    std::string name;
    int placeholders = 0;
  };

  const prepared& statement(std::string_view sql) {
    usable();
    std::string key(sql);
    if (auto i = statements_.find(key); i != statements_.end())
      return i->second;
    control_->check();
    auto numbered = number_placeholders(sql);
    prepared p{"troupe_" + std::to_string(++statement_count_), numbered.placeholders};
    if (!PQsendPrepare(conn_, p.name.c_str(), numbered.text.c_str(), 0, nullptr))
      throw send_failed();
    collect(nullptr, true);
    return statements_.emplace(std::move(key), std::move(p)).first->second;
  }

  int64_t execute(const prepared& stmt, const param* ps, size_t count, row_sink* on_row) {
    control_->check();
    if (static_cast<size_t>(stmt.placeholders) != count)
      throw failure(errc::internal, "statement has " + std::to_string(stmt.placeholders) + " placeholders but " +
                                      std::to_string(count) + " values were given");
    wire_params wire(ps, count);
    if (!PQsendQueryPrepared(conn_, stmt.name.c_str(), static_cast<int>(count), wire.values.data(),
                             wire.lengths.data(), wire.formats.data(), 0))
      throw send_failed();
    // Rows then arrive one by one instead of all at once.
    if (on_row)
      PQsetSingleRowMode(conn_);
    return collect(on_row, true);
  }

  // A statement without parameters over the simple protocol.
  void simple(const char* sql, bool interruptible) {
    if (interruptible)
      control_->check();
    usable();
    if (!PQsendQuery(conn_, sql))
      throw send_failed();
    collect(nullptr, interruptible);
  }

  // Reads every result of the statement sent last, handing rows to `on_row`.
  // Returns the rows affected; throws the first error once the connection is
  // ready for the next statement.
  int64_t collect(row_sink* on_row, bool interruptible) {
    cancelled_by_.reset();
    int64_t affected = 0;
    std::optional<failure> error;
    std::exception_ptr callback_error;
    for (;;) {
      wait(interruptible);
      result_ptr res(PQgetResult(conn_), &PQclear);
      if (!res)
        break;
      switch (PQresultStatus(res.get())) {
        case PGRES_SINGLE_TUPLE:
          if (on_row && !callback_error && !error) {
            in_cursor_ = true;
            try {
              (*on_row)(pg_row(res.get()));
            } catch (...) {
              // Drained below: the connection must reach the statement's end.
              callback_error = std::current_exception();
            }
            in_cursor_ = false;
          }
          break;
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK: {
          const char* count = PQcmdTuples(res.get());  // "" for statements that change no rows
          std::from_chars(count, count + std::strlen(count), affected);
          break;
        }
        default:
          if (!error)
            error = error_for(res.get());
          if (!conn_)  // error_for dropped a broken connection
            throw *error;
          break;
      }
    }
    settle_cancel();
    if (callback_error)
      std::rethrow_exception(callback_error);
    if (error)
      throw *error;
    return affected;
  }

  // The statement has ended; a cancel request sent for it must have been
  // handled before the next statement goes out, or it could stop that one
  // instead. If the server has not handled it within the grace, the
  // connection is closed.
  void settle_cancel() noexcept {
    if (!cancel_until_)
      return;
    auto until = *cancel_until_;
    cancel_until_.reset();
    if (!canceller_.wait_until(until))
      drop();
  }

  // Waits until the next result can be read without blocking. Cancels the
  // statement once the job must stop; gives up on the connection when the
  // server does not answer the cancel, or an uninterruptible statement
  // (ROLLBACK), within the grace period.
  void wait(bool interruptible) {
    std::optional<clock::time_point> give_up;
    if (!interruptible)
      give_up = clock::now() + answer_grace;
    while (PQisBusy(conn_)) {
      if (!give_up && control_->should_stop()) {
        cancelled_by_ = control_->stop_code();
        give_up = clock::now() + answer_grace;
        if (canceller_.start(conn_))
          cancel_until_ = give_up;
      }
      auto until = give_up ? *give_up : control_->deadline();
      int timeout_ms = -1;
      if (until != clock::time_point::max()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(until - clock::now()).count();
        if (left <= 0 && give_up) {
          drop();
          throw failure(cancelled_by_.value_or(errc::unavailable),
                        "the database did not answer in time; connection closed");
        }
        timeout_ms = static_cast<int>(std::clamp<int64_t>(left, 0, 60'000));
      }
      pollfd fds[] = {{PQsocket(conn_), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR)
        throw lost();
      if (fds[1].revents) {
        uint64_t count;
        [[maybe_unused]] auto n = ::read(wake_fd_, &count, sizeof count);
      }
      if (fds[0].revents && !PQconsumeInput(conn_))
        throw lost();
    }
  }

  failure error_for(const PGresult* res) {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    std::string_view sqlstate = state ? state : "";
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    std::string msg = primary ? primary : trim(PQresultErrorMessage(res));
    errc code = code_for_sqlstate(sqlstate);
    if (connection_lost(sqlstate) || PQstatus(conn_) == CONNECTION_BAD)
      return lost();
    if (code == errc::cancelled && cancelled_by_)
      code = *cancelled_by_;
    cancelled_by_.reset();
    return failure(code, msg);
  }

  // libpq's messages end in a newline and may span lines ("connection to
  // server ... failed:\n\tIs the server running ..."): one line for logs and
  // start-up errors.
  static std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
      s.pop_back();
    std::string out;
    for (char c : s) {
      if (c == '\n' || c == '\t') {
        if (!out.empty() && out.back() != ' ')
          out += ' ';
      } else {
        out += c;
      }
    }
    return out;
  }

  std::string uri_;
  PGconn* conn_ = nullptr;
  canceller canceller_;
  // Set while a cancel request for the statement in flight may be under way:
  // when it must have been handled by.
  std::optional<clock::time_point> cancel_until_;
  int wake_fd_ = -1;
  std::unordered_map<std::string, prepared> statements_;
  uint64_t statement_count_ = 0;
  bool in_cursor_ = false;
  // Why this worker cancelled the statement in flight, if it did.
  std::optional<errc> cancelled_by_;
};

}  // namespace

std::unique_ptr<driver> open_postgres(const std::string& uri, std::shared_ptr<job_control> control) {
  return std::make_unique<postgres_connection>(uri, std::move(control));
}

}  // namespace troupe::db
