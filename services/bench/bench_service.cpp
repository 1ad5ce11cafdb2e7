// bench.v1.Bench as call actors. Two extras beyond plain echo:
//  - ServerStream with count < 0 sends headers, then holds the stream open,
//    silent, until the client cancels or its deadline passes;
//  - request metadata "bench-delay-ms: N" delays Unary by N ms on an actor
//    timer (no thread sleeps).
#include "bench_service.hpp"

#include <charconv>
#include <chrono>
#include <memory>

#include "bench/v1/bench.pb.h"

namespace troupe::services {

namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;
using bench::v1::Summary;
using reply_atom = caf::atom_constant<caf::atom("reply")>;

int delay_ms(const troupe::call& call) {
  auto v = call.metadata("bench-delay-ms");
  int ms = 0;
  if (v)
    std::from_chars(v->data(), v->data() + v->size(), ms);
  return ms;
}

caf::behavior unary(troupe::unary_actor<Payload, Payload> self) {
  return {
    [=](Payload& req) {
      if (int ms = delay_ms(self.call()); ms > 0)
        self->delayed_send(self.actor(), std::chrono::milliseconds(ms), reply_atom::value,
                           std::move(req));
      else
        self.reply(req);
    },
    [=](reply_atom, const Payload& req) { self.reply(req); },
  };
}

caf::behavior server_stream(troupe::server_stream_actor<StreamRequest, Payload> self) {
  struct producer {
    int remaining = 0;
    Payload payload;
  };
  auto p = std::make_shared<producer>();
  // Writes until the stream's credit runs out; write_credit resumes it.
  auto produce = [=] {
    while (p->remaining > 0) {
      --p->remaining;
      if (!self.write(p->payload) && p->remaining > 0)
        return;
    }
    self.finish();
  };
  return {
    [=](const StreamRequest& req) {
      if (req.count() < 0)
        return self.send_initial_metadata();  // idle: hold until cancelled
      if (req.size() < 0)
        return self.fail(troupe::invalid_argument("size must not be negative"));
      p->remaining = req.count();
      p->payload.mutable_data()->assign(static_cast<size_t>(req.size()), 'x');
      produce();
    },
    [=](troupe::write_credit) { produce(); },
  };
}

caf::behavior client_stream(troupe::client_stream_actor<Payload, Summary> self) {
  auto sum = std::make_shared<Summary>();
  return {
    [=](const Payload& msg) {
      sum->set_count(sum->count() + 1);
      sum->set_bytes(sum->bytes() + static_cast<int64_t>(msg.data().size()));
    },
    [=](troupe::end_of_input) { self.reply(*sum); },
  };
}

// Echoes in order; without an end_of_input case it finishes OK on half-close.
caf::behavior bidi(troupe::bidi_actor<Payload, Payload> self) {
  return {
    [=](const Payload& msg) { self.write(msg); },
  };
}

}  // namespace

troupe::service bench_service() {
  troupe::service svc{"bench.v1.Bench"};
  svc.unary<Payload, Payload>("Unary", unary);
  svc.server_stream<StreamRequest, Payload>("ServerStream", server_stream);
  svc.client_stream<Payload, Summary>("ClientStream", client_stream);
  svc.bidi<Payload, Payload>("Bidi", bidi);
  return svc;
}

}  // namespace troupe::services
