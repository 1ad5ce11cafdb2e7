// A database connection as a job sees it. Jobs run on a worker's own thread
// with that worker's connection; nothing here is thread-safe and nothing should
// outlive the job.
//
// SQL uses `?` placeholders on every backend (translated to $1, $2, ... for
// PostgreSQL); values are always bound, never spliced into the text. Prepared
// statements are cached per connection by SQL text, so keep the text constant.
// PostgreSQL infers each parameter's type from where it stands: give it one
// where nothing else does (`SELECT CAST(? AS BIGINT)` rather than `SELECT ?`).
//
//   c.exec("INSERT INTO users(id, email) VALUES (?, ?)", id, email);
//   auto u = c.query_one<std::string, int64_t>("SELECT email, age FROM users WHERE id = ?", id);
//   c.query("SELECT id, email FROM users WHERE age > ?", 18, [&](const troupe::db::row& r) {
//     auto [id, email] = r.as<int64_t, std::string>();
//   });
//   c.transaction([&] { ...several statements... });  // all or nothing
//
// Every method throws failure (see errors.hpp) with the mapped error code.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "troupe/db/params.hpp"
#include "troupe/db/row.hpp"

namespace troupe::db {

// none: the workers of a pool for blocking work without a database
// (pool::start_blocking); their connection runs no statements.
enum class backend : uint8_t { sqlite, postgresql, none };

const char* to_string(backend b);

class connection {
public:
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  virtual ~connection() = default;

  // For the rare statement whose SQL differs between backends.
  backend kind() const noexcept { return kind_; }

  // When the running job must be done: its owner's deadline or the pool's
  // job timeout, whichever comes first. Queries are interrupted then; code
  // that waits on something else (a stream's client) should not wait longer.
  virtual std::chrono::steady_clock::time_point job_deadline() const noexcept = 0;

  // Runs one statement; returns the number of rows it inserted, updated or deleted.
  template <class... Args>
  int64_t exec(std::string_view sql, const Args&... args) {
    auto ps = bind(args...);
    return exec_params(sql, ps.data(), ps.size());
  }

  // The first row's leading columns, or nullopt when there is no row. Meant
  // for queries returning at most one row.
  template <class... Ts, class... Args>
  std::optional<std::tuple<Ts...>> query_one(std::string_view sql, const Args&... args) {
    std::optional<std::tuple<Ts...>> result;
    auto ps = bind(args...);
    auto on_row = [&result](const row& r) {
      if (!result)
        result = r.as<Ts...>();
    };
    query_params(sql, ps.data(), ps.size(), row_sink::of(on_row));
    return result;
  }

  // Like query_one, but no row is failure{errc::not_found, what}.
  template <class... Ts, class... Args>
  std::tuple<Ts...> fetch_one(std::string_view what, std::string_view sql, const Args&... args) {
    auto result = query_one<Ts...>(sql, args...);
    if (!result)
      throw failure(errc::not_found, std::string(what));
    return std::move(*result);
  }

  // Calls the last argument, `void(const row&)`, for each row as the cursor
  // advances: rows are not all held in memory. The callback must not run
  // statements on this connection (PostgreSQL cannot while a cursor is open).
  template <class... ArgsThenCallback>
  void query(std::string_view sql, ArgsThenCallback&&... args_then_callback) {
    static_assert(sizeof...(ArgsThenCallback) > 0, "query needs a row callback");
    auto all = std::forward_as_tuple(args_then_callback...);
    constexpr size_t n = sizeof...(ArgsThenCallback) - 1;
    auto ps = bind_prefix(all, std::make_index_sequence<n>{});
    query_params(sql, ps.data(), ps.size(), row_sink::of(std::get<n>(all)));
  }

  // For generated SQL whose number of placeholders is known only at run time
  // (troupe::models): the values are still bound, never spliced.
  int64_t exec_bound(std::string_view sql, const param* ps, size_t count) { return exec_params(sql, ps, count); }
  template <class F>
  void query_bound(std::string_view sql, const param* ps, size_t count, F&& on_row) {
    query_params(sql, ps, count, row_sink::of(on_row));
  }

  // Runs `body` in a transaction: committed when it returns, rolled back when
  // it throws (and the exception rethrown). Returns what `body` returns. A
  // transaction inside a transaction joins the outer one. On SQLite it takes
  // the write lock at once (BEGIN IMMEDIATE), which avoids lock-upgrade
  // deadlocks between writers.
  template <class F>
  std::invoke_result_t<F&> transaction(F&& body) {
    if (in_transaction_)
      return body();
    begin();
    in_transaction_ = true;
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        body();
        commit();
        in_transaction_ = false;
      } else {
        auto result = body();
        commit();
        in_transaction_ = false;
        return result;
      }
    } catch (...) {
      in_transaction_ = false;
      rollback();
      throw;
    }
  }

protected:
  explicit connection(backend kind) : kind_(kind) {}

  // A non-owning, allocation-free reference to a row callback.
  struct row_sink {
    void* context;
    void (*call)(void* context, const row& r);

    template <class F>
    static row_sink of(F& f) {
      return {&f, [](void* ctx, const row& r) { (*static_cast<F*>(ctx))(r); }};
    }
    void operator()(const row& r) const { call(context, r); }
  };

  virtual int64_t exec_params(std::string_view sql, const param* ps, size_t count) = 0;
  virtual void query_params(std::string_view sql, const param* ps, size_t count, row_sink on_row) = 0;
  virtual void begin() = 0;
  virtual void commit() = 0;
  // Never throws: it runs while another exception is in flight.
  virtual void rollback() noexcept = 0;

  // Forgets the transaction a failed job left open (the worker rolls it back).
  void reset_transaction() noexcept { in_transaction_ = false; }

private:
  template <class... Args>
  static std::array<param, sizeof...(Args)> bind(const Args&... args) {
    return {to_param(args)...};
  }

  template <class Tuple, size_t... Is>
  static std::array<param, sizeof...(Is)> bind_prefix(const Tuple& all, std::index_sequence<Is...>) {
    return {to_param(std::get<Is>(all))...};
  }

  backend kind_;
  bool in_transaction_ = false;
};

}  // namespace troupe::db
