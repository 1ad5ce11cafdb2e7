// Messages are stored one at a time, in arrival order, each acknowledged once
// its insert committed. Input pauses while one is stored (the few read ahead
// wait in `queue_`), and while the client is not reading the answers.
#include "chat_service.hpp"

#include <ctime>
#include <deque>

#include "demo/v1/chat.pb.h"

namespace troupe::services {

namespace {

using demo::v1::ChatMessage;
using demo::v1::ChatResponse;

struct conversation {
  std::deque<ChatMessage> queue;
  bool storing = false;
  bool blocked = false;  // out of write credit
  bool ended = false;
};
using chat_call = troupe::bidi_actor<ChatMessage, ChatResponse, conversation>;

// Stores the next message, or finishes, or reads on.
void next(chat_call self, const caf::actor& pool) {
  auto& s = self.state();
  if (s.storing || s.blocked)
    return;
  if (s.queue.empty()) {
    if (s.ended)
      self.finish();
    else
      self.resume_input();
    return;
  }
  s.storing = true;
  self.pause_input();
  ChatMessage m = std::move(s.queue.front());
  s.queue.pop_front();
  auto now = static_cast<int64_t>(std::time(nullptr));
  self.db(
    pool,
    [m, now](troupe::db::connection& c) {  // a worker: its own copy of the message
      c.exec("INSERT INTO demo_chat_messages (user_id, text, sent_at) VALUES (?, ?, ?)", m.user_id(), m.text(),
             now);
    },
    [self, pool, text = m.text(), now](troupe::result<void> r) {  // back in the actor
      if (!r.ok())
        return self.fail(r.error());
      ChatResponse resp;
      resp.set_text("Received: " + text);
      resp.set_timestamp(now);
      auto& s = self.state();
      s.storing = false;
      s.blocked = !self.write(resp);
      next(self, pool);
    });
}

caf::behavior chat(caf::actor pool, chat_call self) {
  return {
    [=](ChatMessage& m) {
      self.state().queue.push_back(std::move(m));
      next(self, pool);
    },
    [=](troupe::write_credit) {
      self.state().blocked = false;
      next(self, pool);
    },
    [=](troupe::end_of_input) {
      self.state().ended = true;
      next(self, pool);
    },
  };
}

}  // namespace

troupe::service chat_service(caf::actor pool) {
  troupe::service svc{"demo.v1.ChatService"};
  svc.bidi<ChatMessage, ChatResponse>("Chat", [pool](chat_call self) { return chat(pool, self); });
  return svc;
}

}  // namespace troupe::services
