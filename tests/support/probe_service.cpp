#include "probe_service.hpp"

#include <charconv>
#include <stdexcept>

#include "bench/v1/bench.pb.h"

namespace troupe::test {

namespace {

using bench::v1::Payload;
using bench::v1::StreamRequest;
using bench::v1::Summary;
using reply_atom = caf::atom_constant<caf::atom("reply")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;

void record(probe& p, troupe::cancelled c) {
  p.last_reason = static_cast<int>(c.reason);
  ++p.cancelled;
}

caf::behavior unary(std::shared_ptr<probe> p, troupe::unary_actor<Payload, Payload> self) {
  return {
    [=](Payload& req) {
      if (req.data() == "throw")
        throw std::runtime_error("secret detail");
      if (req.data() == "not-found")
        throw troupe::status_error(troupe::status_code::NOT_FOUND, "nothing here");
      if (req.data() == "quit")
        return self->quit();
      int ms = 0;
      if (auto v = self.call().metadata("bench-delay-ms"))
        std::from_chars(v->data(), v->data() + v->size(), ms);
      self->delayed_send(self.actor(), std::chrono::milliseconds(ms), reply_atom::value,
                         std::move(req));
    },
    [=](reply_atom, const Payload& req) { self.reply(req); },
    [=](troupe::cancelled c) { record(*p, c); },
  };
}

caf::behavior server_stream(std::shared_ptr<probe> p,
                            troupe::server_stream_actor<StreamRequest, Payload> self) {
  auto remaining = std::make_shared<int>(0);
  auto msg = std::make_shared<Payload>();
  auto produce = [=] {
    while (*remaining > 0) {
      --*remaining;
      ++p->produced;
      if (!self.write(*msg) && *remaining > 0) {
        ++p->paused;
        return;
      }
    }
    self.finish();
  };
  return {
    [=](const StreamRequest& req) {
      ++p->streams_open;
      if (req.count() < 0)
        return self.send_initial_metadata();
      *remaining = req.count();
      msg->mutable_data()->assign(static_cast<size_t>(req.size()), 'p');
      produce();
    },
    [=](troupe::write_credit) {
      --p->paused;
      produce();
    },
    [=](troupe::cancelled c) {
      --p->streams_open;
      record(*p, c);
    },
  };
}

caf::behavior client_stream(std::shared_ptr<probe> p,
                            troupe::client_stream_actor<Payload, Summary> self) {
  // A sequential worker: each message "takes" slow_ms of asynchronous work;
  // input stays paused while any is unfinished.
  struct work {
    Summary sum;
    size_t unfinished = 0;
    bool ended = false;
  };
  auto w = std::make_shared<work>();
  return {
    [=](const Payload& m) {
      w->sum.set_count(w->sum.count() + 1);
      w->sum.set_bytes(w->sum.bytes() + static_cast<int64_t>(m.data().size()));
      size_t seen = p->max_unfinished.load();
      ++w->unfinished;
      while (w->unfinished > seen && !p->max_unfinished.compare_exchange_weak(seen, w->unfinished)) {
      }
      self.pause_input();
      if (w->unfinished == 1)
        self->delayed_send(self.actor(), std::chrono::milliseconds(p->slow_ms), resume_atom::value);
    },
    [=](resume_atom) {
      ++p->consumed;
      if (--w->unfinished > 0)
        self->delayed_send(self.actor(), std::chrono::milliseconds(p->slow_ms), resume_atom::value);
      else if (w->ended)
        self.reply(w->sum);
      else
        self.resume_input();
    },
    [=](troupe::end_of_input) {
      ++p->ended;
      w->ended = true;
      if (w->unfinished == 0)
        self.reply(w->sum);
    },
    [=](troupe::cancelled c) { record(*p, c); },
  };
}

caf::behavior bidi(troupe::bidi_actor<Payload, Payload> self) {
  return {
    [=](const Payload& m) { self.write(m); },
  };
}

}  // namespace

troupe::service probe_service(std::shared_ptr<probe> p) {
  troupe::service svc{"bench.v1.Bench"};
  svc.unary<Payload, Payload>("Unary", [p](auto self) { return unary(p, self); });
  svc.server_stream<StreamRequest, Payload>("ServerStream",
                                            [p](auto self) { return server_stream(p, self); });
  svc.client_stream<Payload, Summary>("ClientStream",
                                      [p](auto self) { return client_stream(p, self); });
  svc.bidi<Payload, Payload>("Bidi", bidi);
  return svc;
}

}  // namespace troupe::test
