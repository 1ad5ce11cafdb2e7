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
#include <memory>
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

class event_feed : public std::enable_shared_from_this<event_feed> {
public:
  using handle = troupe::server_stream_actor<StreamEventsRequest, Event>;

  event_feed(caf::actor pool, caf::actor hub, handle self)
      : pool_(std::move(pool)), hub_(std::move(hub)), self_(std::move(self)) {}

  void start(const StreamEventsRequest& req) {
    user_id_ = req.user_id();
    last_id_ = req.after_id();
    self_->request(hub_, caf::infinite, subscribe_atom::value, user_id_)
      .then([feed = shared_from_this()] { feed->read_count(); },
            [feed = shared_from_this()](caf::error&) {
              feed->self_.fail(troupe::unavailable("event hub is gone"));
            });
  }

  void live(Event& e, int64_t seq) {
    if (next_seq_ > 0 && seq < next_seq_)
      return;  // committed before the count was read: sent from storage
    if (live_.size() == max_buffered)
      return self_.fail(troupe::resource_exhausted(
        "too slow reading events: resume with after_id = " + std::to_string(last_id_)));
    live_.emplace(seq, std::move(e));
    drain();
  }

  void credit() {
    blocked_ = false;
    drain();
  }

  // The server began draining: end now rather than hold its shutdown for the
  // whole grace. Events queued go out first, so the client has seen every
  // event up to the id in the trailers and resumes after it.
  void server_draining() {
    troupe::call c = self_.call();  // call() gives a const handle; a copy may add trailers
    c.set_trailing_metadata(resume_after_id_key, std::to_string(last_id_));
    self_.fail(troupe::shutting_down());
  }

private:
  void read_count() {
    self_.db(
      pool_,
      [user_id = user_id_](troupe::db::connection& c) {
        auto [n] = c.fetch_one<int64_t>("no user " + std::to_string(user_id),
                                        "SELECT event_count FROM demo_users WHERE id = ?", user_id);
        return n;
      },
      [feed = shared_from_this()](troupe::result<int64_t> r) {
        if (!r.ok())
          return feed->self_.fail(r.error());
        feed->stored_until_ = *r;
        feed->next_seq_ = *r + 1;
        feed->live_.erase(feed->live_.begin(), feed->live_.lower_bound(feed->next_seq_));
        feed->self_.send_initial_metadata();
        feed->fetch();
      });
  }

  // One page of stored events (keyset pagination on id; its extent first,
  // from the rows' sizes, demo_db.hpp).
  void fetch() {
    fetching_ = true;
    self_.db(
      pool_,
      [user_id = user_id_, after = last_id_, until = stored_until_,
       n = lookahead_.rows(page_rows)](troupe::db::connection& c) {
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
      [feed = shared_from_this()](troupe::result<page_of<Event>> r) {
        if (!r.ok())
          return feed->self_.fail(r.error());
        feed->fetching_ = false;
        feed->lookahead_.learn(r->extent);
        feed->stored_done_ = !r->extent.more;
        auto& events = r->items;
        feed->page_.assign(std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
        feed->drain();
      });
  }

  // Sends what may be sent now: the stored page, then live events in order.
  void drain() {
    if (fetching_ || next_seq_ == 0)
      return;
    while (!blocked_ && !page_.empty()) {
      send(page_.front());
      page_.pop_front();
    }
    if (blocked_)
      return;
    if (!stored_done_)
      return fetch();
    while (!blocked_ && !live_.empty() && live_.begin()->first == next_seq_) {
      // after_id may lie ahead of what is stored: skip up to it.
      if (live_.begin()->second.id() > last_id_)
        send(live_.begin()->second);
      live_.erase(live_.begin());
      ++next_seq_;
    }
  }

  void send(const Event& e) {
    last_id_ = e.id();
    blocked_ = !self_.write(e);
  }

  caf::actor pool_;
  caf::actor hub_;
  handle self_;
  int64_t user_id_ = 0;
  int64_t last_id_ = 0;       // the last id sent (after_id before that)
  int64_t stored_until_ = 0;  // events numbered up to here come from storage
  int64_t next_seq_ = 0;      // the next live event to send; 0 until known
  bool fetching_ = false;
  bool stored_done_ = false;
  bool blocked_ = false;  // out of write credit
  page_lookahead lookahead_;
  std::deque<Event> page_;
  std::map<int64_t, Event> live_;  // by seq
};

caf::behavior stream_events(caf::actor pool, caf::actor hub, event_feed::handle self) {
  auto feed = std::make_shared<event_feed>(std::move(pool), std::move(hub), self);
  return {
    [=](const StreamEventsRequest& req) { feed->start(req); },
    [=](Event& e, int64_t seq) { feed->live(e, seq); },
    [=](troupe::write_credit) { feed->credit(); },
    [=](troupe::draining) { feed->server_draining(); },
  };
}

}  // namespace

troupe::service events_service(caf::actor_system& sys, caf::actor pool) {
  auto hub = spawn_event_hub(sys);
  troupe::service svc{"demo.v1.EventService"};
  svc.unary<PublishEventRequest, Event>("PublishEvent",
                                        [pool, hub](auto self) { return publish_event(pool, hub, self); });
  svc.server_stream<StreamEventsRequest, Event>(
    "StreamEvents", [pool, hub](auto self) { return stream_events(pool, hub, self); });
  return svc;
}

}  // namespace troupe::services
