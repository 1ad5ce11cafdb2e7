// Sync handlers: plain blocking code, run off the actors' threads.
//
//   svc.unary<AddNote, Note>("Add", troupe::blocking(ctx.db(),
//     [](troupe::call& call, const AddNote& req, troupe::db::connection& db) -> troupe::result<Note> {
//       db.exec("INSERT INTO notes (body) VALUES (?)", req.body());
//       ...
//     }));
//   svc.server_stream<ListNotes, Note>("List", troupe::blocking(ctx.db(),
//     [](troupe::call&, const ListNotes& req, troupe::db::connection& db, troupe::writer<Note>& out) {
//       db.query("SELECT id, body FROM notes", [&](const troupe::db::row& r) { out.write(to_note(r)); });
//     }));
//
// With a database pool, the function runs as one job on one of its workers,
// with that worker's connection, exactly as a call actor's self.db job: the
// call's deadline is the job's (and [database] job_timeout_ms bounds it), a
// cancel or deadline interrupts its query and rolls back its transaction, and
// a full queue is UNAVAILABLE at once. Without a pool (troupe::blocking(fn)),
// it runs on the app's [blocking] threads under the same rules, except that
// nothing can interrupt it: it polls call.cancelled() between steps.
//
// What it returns is the reply: a value, or a status (troupe::not_found...).
// A db::failure it lets escape is that error's status (not_found -> NOT_FOUND,
// busy -> UNAVAILABLE, see database.hpp); a status_error its status; any other
// exception INTERNAL, with a log line and nothing of its text to the client.
//
// A stream's writer waits on the worker for the client to take what it sent
// (write credit), so a slow client costs exactly one worker, for at most the
// job's deadline: the writer then gives up and the call ends DEADLINE_EXCEEDED.
// write() returns false once the call is over: stop producing and return.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

#include <caf/all.hpp>

#include "troupe/call_actor.hpp"
#include "troupe/db/connection.hpp"
#include "troupe/db/pool.hpp"
#include "troupe/detail/codec.hpp"
#include "troupe/detail/spawn.hpp"

namespace troupe {

namespace detail {

// How a stream's call actor tells its worker that the client took some
// responses (write credit) or that the call is over.
class write_gate {
public:
  using clock = std::chrono::steady_clock;

  void credit() {
    std::lock_guard<std::mutex> lk(mu_);
    ++credits_;
    cv_.notify_all();
  }
  void close() {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
    cv_.notify_all();
  }

  // The credit count to wait past, or nullopt once closed.
  std::optional<uint64_t> mark() {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_)
      return std::nullopt;
    return credits_;
  }

  // Waits until credit arrives after `seen` (true), or the call is over or
  // `deadline` passed (false).
  bool wait(uint64_t seen, clock::time_point deadline) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_until(lk, deadline, [&] { return closed_ || credits_ != seen; });
    return !closed_ && credits_ != seen;
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t credits_ = 0;
  bool closed_ = false;
};

}  // namespace detail

// A blocking server stream's output.
template <class Resp>
class writer {
public:
  writer(call& c, std::shared_ptr<detail::write_gate> gate, std::chrono::steady_clock::time_point deadline)
      : call_(c), gate_(std::move(gate)), deadline_(deadline) {}

  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  // Sends one response, waiting while the client has not taken the last
  // ones. Returns false once the call is over (or the job's deadline passed):
  // the response was dropped and no further one will go out.
  bool write(const Resp& response) {
    auto seen = gate_->mark();
    if (!seen || timed_out_)
      return false;
    if (call_.endpoint().write(detail::serialize(response)))
      return true;
    if (call_.over())
      return false;
    // Queued, and the window is full: wait for the client.
    if (gate_->wait(*seen, deadline_))
      return true;
    timed_out_ = !call_.over();
    return false;
  }

  // The writer gave up waiting for the client at the job's deadline.
  bool timed_out() const { return timed_out_; }

private:
  call& call_;
  std::shared_ptr<detail::write_gate> gate_;
  std::chrono::steady_clock::time_point deadline_;
  bool timed_out_ = false;
};

// A handler to run blocking: see the top of this file.
template <class F, bool WithDatabase>
struct blocking_handler {
  caf::actor pool;  // empty: the app's [blocking] threads
  F fn;
};

// `fn` runs as a job of `db_pool` with its worker's connection:
// `result<Resp>(call&, const Req&, db::connection&)`, or for a server stream
// `status(call&, const Req&, db::connection&, writer<Resp>&)` (or void).
template <class F>
blocking_handler<F, true> blocking(caf::actor db_pool, F fn) {
  return {std::move(db_pool), std::move(fn)};
}

// `fn` runs on the app's [blocking] threads: `result<Resp>(call&, const Req&)`,
// or `status(call&, const Req&, writer<Resp>&)` (or void).
template <class F>
blocking_handler<F, false> blocking(F fn) {
  return {caf::actor{}, std::move(fn)};
}

// The [blocking] threads of one actor system, for troupe::blocking(fn)
// handlers: troupe::app starts them from [blocking]; a program using
// troupe::server directly keeps one of these while it serves.
class blocking_pool {
public:
  blocking_pool(caf::actor_system& sys, const blocking_config& cfg);
  ~blocking_pool();
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  const caf::actor& actor() const { return pool_.actor(); }

  // The running pool of `sys`, or an empty handle.
  static caf::actor of(caf::actor_system& sys);

private:
  caf::actor_system& sys_;
  db::pool pool_;
};

namespace detail {

template <class T>
struct is_blocking : std::false_type {};
template <class F, bool D>
struct is_blocking<blocking_handler<F, D>> : std::true_type {};
template <class T>
inline constexpr bool is_blocking_v = is_blocking<T>::value;

// Runs a blocking function's body. A db::failure goes on to the worker, which
// maps it and knows what it did to the connection; any other exception
// becomes the call's status here (status_error's own, else INTERNAL, logged).
template <class R, class Body>
R guarded(const call& c, Body&& body) {
  try {
    return body();
  } catch (const db::failure&) {
    throw;
  } catch (...) {
    return status_from_exception(c.method(), std::current_exception());
  }
}

template <class Result, class F, class... Args>
Result invoke_to(F& fn, Args&... args) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&, Args&...>>) {
    fn(args...);
    return Result{};
  } else {
    return fn(args...);
  }
}

// The pool a blocking handler's job goes to; empty when there is none.
inline caf::actor pool_for(const caf::actor& given, caf::actor_system& sys) {
  return given ? given : blocking_pool::of(sys);
}

inline status no_pool() {
  return unavailable("no [blocking] threads are running (start a troupe::blocking_pool)");
}

// A blocking unary handler as a call-actor behavior: one job, its result the reply.
template <class Req, class Resp, class F, bool D>
auto blocking_unary(blocking_handler<F, D> h) {
  if constexpr (D)
    static_assert(std::is_invocable_v<F&, call&, const Req&, db::connection&>,
                  "troupe::blocking(pool, fn) unary: result<Resp>(troupe::call&, const Req&, troupe::db::connection&)");
  else
    static_assert(std::is_invocable_v<F&, call&, const Req&>,
                  "troupe::blocking(fn) unary: result<Resp>(troupe::call&, const Req&)");
  auto fn = std::make_shared<F>(std::move(h.fn));
  return [fn, given = std::move(h.pool)](unary_actor<Req, Resp> self) -> caf::behavior {
    return {
      [=](Req& req) {
        auto pool = pool_for(given, self->system());
        if (!pool)
          return self.fail(no_pool());
        self.db(
          pool,
          [fn, c = self.call(), req = std::move(req)](db::connection& conn) mutable -> result<Resp> {
            return guarded<result<Resp>>(c, [&] {
              if constexpr (D)
                return result<Resp>((*fn)(c, static_cast<const Req&>(req), conn));
              else
                return result<Resp>((*fn)(c, static_cast<const Req&>(req)));
            });
          },
          [self](result<Resp> r) { self.reply(std::move(r)); });
      },
    };
  };
}

// A blocking server stream as a call-actor behavior: one job writes the
// stream; the actor passes write credit and the call's end to its writer.
template <class Req, class Resp, class F, bool D>
auto blocking_server_stream(blocking_handler<F, D> h) {
  if constexpr (D)
    static_assert(std::is_invocable_v<F&, call&, const Req&, db::connection&, writer<Resp>&>,
                  "troupe::blocking(pool, fn) server stream: status(troupe::call&, const Req&, "
                  "troupe::db::connection&, troupe::writer<Resp>&)");
  else
    static_assert(std::is_invocable_v<F&, call&, const Req&, writer<Resp>&>,
                  "troupe::blocking(fn) server stream: status(troupe::call&, const Req&, troupe::writer<Resp>&)");
  auto fn = std::make_shared<F>(std::move(h.fn));
  return [fn, given = std::move(h.pool)](server_stream_actor<Req, Resp> self) -> caf::behavior {
    auto gate = std::make_shared<write_gate>();
    return {
      [=](Req& req) {
        auto pool = pool_for(given, self->system());
        if (!pool)
          return self.fail(no_pool());
        self.db(
          pool,
          [fn, gate, c = self.call(), req = std::move(req)](db::connection& conn) mutable -> result<void> {
            writer<Resp> out{c, gate, conn.job_deadline()};
            auto st = guarded<result<void>>(c, [&] {
              if constexpr (D)
                return invoke_to<result<void>>(*fn, c, static_cast<const Req&>(req), conn, out);
              else
                return invoke_to<result<void>>(*fn, c, static_cast<const Req&>(req), out);
            });
            if (st.ok() && out.timed_out())
              return status{status_code::DEADLINE_EXCEEDED, "the client took too long to read the stream"};
            return st;
          },
          [self](result<void> r) { self.finish(r.ok() ? status::OK : r.error()); });
      },
      [gate](write_credit) { gate->credit(); },
      [gate](cancelled) { gate->close(); },
    };
  };
}

}  // namespace detail

}  // namespace troupe
