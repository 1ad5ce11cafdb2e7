// bench.v1.Bench as call actors. Three extras beyond plain echo:
//  - ServerStream with count < 0 sends headers, then holds the stream open,
//    silent, until the client cancels or its deadline passes;
//  - request metadata "bench-delay-ms: N" delays Unary by N ms on an actor
//    timer (no thread sleeps);
//  - request metadata "bench-db-ms: N" (Troupe only, with a pool) makes Unary
//    hold a database worker for N ms with a slow query before it echoes: how
//    troupe-bench's db-saturation scenario keeps the pool busy.
#include "bench_service.hpp"

#include <charconv>
#include <chrono>
#include <string>
#include <string_view>

#include <google/protobuf/io/coded_stream.h>

#include "bench/v1/bench.pb.h"

namespace troupe::services {

namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;
using bench::v1::Summary;
using reply_atom = caf::atom_constant<caf::atom("reply")>;

// Milliseconds asked for in request metadata `key`; 0 when absent or malformed.
int metadata_ms(const troupe::call& call, std::string_view key) {
  auto v = call.metadata(key);
  int ms = 0;
  if (v)
    std::from_chars(v->data(), v->data() + v->size(), ms);
  return ms;
}

// Rows counted per SQLite statement: about a millisecond of work, so the
// query ends close to its length and a cancelled call frees its worker soon.
constexpr int64_t sqlite_slice_rows = 5000;

// Occupies this worker's connection for `ms` like a slow query would.
// PostgreSQL waits in the server (pg_sleep). SQLite cannot wait, so it counts
// rows in a recursive CTE, slice after slice, until the time is up: on SQLite
// a slow query costs this process CPU. Either stops early when the call is
// cancelled (the pool interrupts the statement; SQLite's progress handler
// also stops the next slice).
void slow_query(troupe::db::connection& c, int ms) {
  if (c.kind() == troupe::db::backend::postgresql) {
    c.query_one<int64_t>("SELECT CAST(1 AS BIGINT) FROM pg_sleep(CAST(? AS DOUBLE PRECISION))",
                         ms / 1000.0);
    return;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    c.query_one<int64_t>("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
                         " SELECT count(*) FROM n",
                         sqlite_slice_rows);
  }
}

caf::behavior unary(caf::actor pool, troupe::unary_actor<Payload, Payload> self) {
  return {
    [=](Payload& req) {
      if (int ms = metadata_ms(self.call(), "bench-db-ms"); ms > 0) {
        if (!pool)
          return self.fail(troupe::failed_precondition("bench-db-ms: this server has no database pool"));
        return self.db(
          pool, [ms](troupe::db::connection& c) { slow_query(c, ms); },
          [=](troupe::result<void> r) {
            if (r.ok())
              self.reply(req);
            else
              self.fail(r.error());
          });
      }
      if (int ms = metadata_ms(self.call(), "bench-delay-ms"); ms > 0)
        self->delayed_send(self.actor(), std::chrono::milliseconds(ms), reply_atom::value,
                           std::move(req));
      else
        self.reply(req);
    },
    [=](reply_atom, const Payload& req) { self.reply(req); },
  };
}

// The encoded size of a Payload carrying `size` bytes: field tag, length, data.
int64_t payload_bytes(int32_t size) {
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize32(static_cast<uint32_t>(size)) + int64_t{size};
}

// A server stream's state, kept in its call actor (a stateful handle).
struct producer {
  int remaining = 0;
  Payload payload;
};
using producer_call = troupe::server_stream_actor<StreamRequest, Payload, producer>;

// Writes until the stream's credit runs out; write_credit resumes it.
void produce(producer_call self) {
  auto& p = self.state();
  while (p.remaining > 0) {
    --p.remaining;
    if (!self.write(p.payload) && p.remaining > 0)
      return;
  }
  self.finish();
}

caf::behavior server_stream(int max_send_message_bytes, producer_call self) {
  return {
    [=](const StreamRequest& req) {
      if (req.count() < 0)
        return self.send_initial_metadata();  // idle: hold until cancelled
      if (req.size() < 0)
        return self.fail(troupe::invalid_argument("size must not be negative"));
      // Checked before the payload is built: gRPC would refuse to send it
      // anyway, after the server had allocated it.
      if (payload_bytes(req.size()) > max_send_message_bytes)
        return self.fail(troupe::invalid_argument(
          "size " + std::to_string(req.size()) + ": the messages would exceed the server's " +
          "max_send_message_bytes (" + std::to_string(max_send_message_bytes) + ")"));
      auto& p = self.state();
      p.remaining = req.count();
      p.payload.mutable_data()->assign(static_cast<size_t>(req.size()), 'x');
      produce(self);
    },
    [=](troupe::write_credit) { produce(self); },
  };
}

struct totals {
  Summary sum;
};

caf::behavior client_stream(troupe::client_stream_actor<Payload, Summary, totals> self) {
  return {
    [=](const Payload& msg) {
      auto& sum = self.state().sum;
      sum.set_count(sum.count() + 1);
      sum.set_bytes(sum.bytes() + static_cast<int64_t>(msg.data().size()));
    },
    [=](troupe::end_of_input) { self.reply(self.state().sum); },
  };
}

// Echoes in order; without an end_of_input case it finishes OK on half-close.
caf::behavior bidi(troupe::bidi_actor<Payload, Payload> self) {
  return {
    [=](const Payload& msg) { self.write(msg); },
  };
}

}  // namespace

troupe::service bench_service(caf::actor pool, int max_send_message_bytes) {
  troupe::service svc{"bench.v1.Bench"};
  svc.unary<Payload, Payload>("Unary", [pool](auto self) { return unary(pool, self); });
  svc.server_stream<StreamRequest, Payload>(
    "ServerStream",
    [max_send_message_bytes](producer_call self) { return server_stream(max_send_message_bytes, self); });
  svc.client_stream<Payload, Summary>("ClientStream", client_stream);
  svc.bidi<Payload, Payload>("Bidi", bidi);
  return svc;
}

}  // namespace troupe::services
