// A feed (StreamEvents) subscribes to the hub before it reads anything, so
// every event committed from then on reaches it live. It then reads its user's
// event count S: events 1..S are committed, it reads those that are stored
// (id > after_id) page by page, and afterwards sends live events S+1, S+2, ...
// in that order. Publishers of one user are serialised by the UPDATE on the
// user's row, so those numbers follow commit order and id order; live events,
// sent from different worker threads, may reach the hub out of order and are
// put back in order here. Nothing is sent twice and nothing is skipped.
// (Should a commit's outcome be lost, say the PostgreSQL connection breaks
// during COMMIT, its number never arrives live: the feed's buffer then fills
// and it ends with RESOURCE_EXHAUSTED, and the client resumes from storage.)
#include "events_service.hpp"

#include <chrono>
#include <deque>
#include <iterator>
#include <map>
#include <vector>

#include "demo/v1/events.pb.h"
#include "demo_db.hpp"
#include "event_hub.hpp"

namespace troupe::services {

namespace {

using demo::v1::Event;
using demo::v1::PublishEventRequest;
using demo::v1::StreamEventsRequest;

// Trailing metadata of a feed ended by a server shutdown: the after_id to
// resume with (the last event sent).
const std::string resume_after_id_key = "resume-after-id";
// Live events a feed holds beyond what the transport's write window takes;
// one more ends the feed, so a client that stops reading costs bounded memory.
constexpr size_t max_buffered = 1024;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

caf::behavior publish_event(caf::actor pool, caf::actor hub,
                            troupe::unary_actor<PublishEventRequest, Event> self) {
  return {
    [=](const PublishEventRequest& req) {
      self.db(
        pool,
        [hub, req](troupe::db::connection& c) {
          Event e;
          int64_t seq = c.transaction([&] {
            auto [n] = c.fetch_one<int64_t>(
              "no user " + std::to_string(req.user_id()),
              "UPDATE demo_users SET event_count = event_count + 1 WHERE id = ? RETURNING event_count",
              req.user_id());
            e.set_id(next_id(c, "events"));
            e.set_user_id(req.user_id());
            e.set_type(req.type());
            e.set_data(req.data());
            e.set_created_at_ms(now_ms());
            c.exec("INSERT INTO demo_events (id, user_id, seq, type, data, created_at_ms)"
                   " VALUES (?, ?, ?, ?, ?, ?)",
                   e.id(), e.user_id(), n, e.type(), e.data(), e.created_at_ms());
            return n;
          });
          // From the worker, right after the commit: it reaches the hub even
          // when this call is gone by now, so feeds never wait for a gap.
          caf::anon_send(hub, e, seq);
          return e;
        },
        [=](troupe::result<Event> r) { self.reply(std::move(r)); });
    },
  };
}

struct feed_state {
  int64_t user_id = 0;
  int64_t last_id = 0;       // the last id sent (after_id before that)
  int64_t stored_until = 0;  // events numbered up to here come from storage
  int64_t next_seq = 0;      // the next live event to send; 0 until known
  bool fetching = false;
  bool stored_done = false;
  bool blocked = false;  // out of write credit
  page_lookahead lookahead;
  std::deque<Event> page;
  std::map<int64_t, Event> live;  // by seq
};
using feed = troupe::server_stream_actor<StreamEventsRequest, Event, feed_state>;

void fetch(feed self, const caf::actor& pool);

void send(feed self, const Event& e) {
  auto& s = self.state();
  s.last_id = e.id();
  s.blocked = !self.write(e);
}

// Sends what may be sent now: the stored page, then live events in order.
void drain(feed self, const caf::actor& pool) {
  auto& s = self.state();
  if (s.fetching || s.next_seq == 0)
    return;
  while (!s.blocked && !s.page.empty()) {
    send(self, s.page.front());
    s.page.pop_front();
  }
  if (s.blocked)
    return;
  if (!s.stored_done)
    return fetch(self, pool);
  while (!s.blocked && !s.live.empty() && s.live.begin()->first == s.next_seq) {
    // after_id may lie ahead of what is stored: skip up to it.
    if (s.live.begin()->second.id() > s.last_id)
      send(self, s.live.begin()->second);
    s.live.erase(s.live.begin());
    ++s.next_seq;
  }
}

// One page of stored events (keyset pagination on id; its extent first,
// from the rows' sizes, demo_db.hpp).
void fetch(feed self, const caf::actor& pool) {
  auto& s = self.state();
  s.fetching = true;
  self.db(
    pool,
    [user_id = s.user_id, after = s.last_id, until = s.stored_until,
     n = s.lookahead.rows(page_rows)](troupe::db::connection& c) {  // a worker: copies only
      page_of<Event> page;
      page.extent = measure_page(c, n,
                                 "SELECT id, " + octet_length(c, "type") + " + " + octet_length(c, "data") +
                                   " FROM demo_events WHERE user_id = ? AND id > ? AND seq <= ? ORDER BY id LIMIT ?",
                                 user_id, after, until);
      if (page.extent.rows == 0)
        return page;
      c.query("SELECT id, type, data, created_at_ms FROM demo_events"
              " WHERE user_id = ? AND id > ? AND id <= ? AND seq <= ? ORDER BY id LIMIT ?",
              user_id, after, page.extent.last_id, until, page.extent.rows, [&](const troupe::db::row& r) {
                Event e;
                auto [id, type, data, created] = r.as<int64_t, std::string, std::string, int64_t>();
                e.set_id(id);
                e.set_user_id(user_id);
                e.set_type(std::move(type));
                e.set_data(std::move(data));
                e.set_created_at_ms(created);
                page.items.push_back(std::move(e));
              });
      return page;
    },
    [self, pool](troupe::result<page_of<Event>> r) {  // back in the actor
      if (!r.ok())
        return self.fail(r.error());
      auto& s = self.state();
      s.fetching = false;
      s.lookahead.learn(r->extent);
      s.stored_done = !r->extent.more;
      auto& events = r->items;
      s.page.assign(std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
      drain(self, pool);
    });
}

void read_count(feed self, const caf::actor& pool) {
  self.db(
    pool,
    [user_id = self.state().user_id](troupe::db::connection& c) {
      auto [n] = c.fetch_one<int64_t>("no user " + std::to_string(user_id),
                                      "SELECT event_count FROM demo_users WHERE id = ?", user_id);
      return n;
    },
    [self, pool](troupe::result<int64_t> r) {
      if (!r.ok())
        return self.fail(r.error());
      auto& s = self.state();
      s.stored_until = *r;
      s.next_seq = *r + 1;
      s.live.erase(s.live.begin(), s.live.lower_bound(s.next_seq));
      self.send_initial_metadata();
      fetch(self, pool);
    });
}

void start(feed self, const caf::actor& pool, const caf::actor& hub, const StreamEventsRequest& req) {
  auto& s = self.state();
  s.user_id = req.user_id();
  s.last_id = req.after_id();
  self->request(hub, caf::infinite, subscribe_atom::value, s.user_id)
    .then([self, pool] { read_count(self, pool); },
          [self](caf::error&) { self.fail(troupe::unavailable("event hub is gone")); });
}

void live(feed self, const caf::actor& pool, Event& e, int64_t seq) {
  auto& s = self.state();
  if (s.next_seq > 0 && seq < s.next_seq)
    return;  // committed before the count was read: sent from storage
  if (s.live.size() == max_buffered)
    return self.fail(troupe::resource_exhausted("too slow reading events: resume with after_id = " +
                                                std::to_string(s.last_id)));
  s.live.emplace(seq, std::move(e));
  drain(self, pool);
}

// The server began draining: end now rather than hold its shutdown for the
// whole grace. Events queued go out first, so the client has seen every event
// up to the id in the trailers and resumes after it.
void server_draining(feed self) {
  troupe::call c = self.call();  // call() gives a const handle; a copy may add trailers
  c.set_trailing_metadata(resume_after_id_key, std::to_string(self.state().last_id));
  self.fail(troupe::shutting_down());
}

caf::behavior stream_events(caf::actor pool, caf::actor hub, feed self) {
  return {
    [=](const StreamEventsRequest& req) { start(self, pool, hub, req); },
    [=](Event& e, int64_t seq) { live(self, pool, e, seq); },  // from the hub
    [=](troupe::write_credit) {
      self.state().blocked = false;
      drain(self, pool);
    },
    [=](troupe::draining) { server_draining(self); },
  };
}

}  // namespace

troupe::service events_service(caf::actor_system& sys, caf::actor pool) {
  auto hub = spawn_event_hub(sys);
  troupe::service svc{"demo.v1.EventService"};
  svc.unary<PublishEventRequest, Event>("PublishEvent",
                                        [pool, hub](auto self) { return publish_event(pool, hub, self); });
  svc.server_stream<StreamEventsRequest, Event>(
    "StreamEvents", [pool, hub](feed self) { return stream_events(pool, hub, self); });
  return svc;
}

}  // namespace troupe::services
