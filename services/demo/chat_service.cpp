// Messages are stored one at a time, in arrival order, each acknowledged once
// its insert committed. Input pauses while one is stored (the few read ahead
// wait in `queue_`), and while the client is not reading the answers.
#include "chat_service.hpp"

#include <ctime>
#include <deque>
#include <memory>

#include "demo/v1/chat.pb.h"

namespace troupe::services {

namespace {

using demo::v1::ChatMessage;
using demo::v1::ChatResponse;

class conversation : public std::enable_shared_from_this<conversation> {
public:
  using handle = troupe::bidi_actor<ChatMessage, ChatResponse>;

  conversation(caf::actor pool, handle self) : pool_(std::move(pool)), self_(std::move(self)) {}

  void add(ChatMessage& m) {
    queue_.push_back(std::move(m));
    next();
  }

  void end() {
    ended_ = true;
    next();
  }

  void credit() {
    blocked_ = false;
    next();
  }

private:
  void next() {
    if (storing_ || blocked_)
      return;
    if (queue_.empty()) {
      if (ended_)
        self_.finish();
      else
        self_.resume_input();
      return;
    }
    storing_ = true;
    self_.pause_input();
    ChatMessage m = std::move(queue_.front());
    queue_.pop_front();
    auto now = static_cast<int64_t>(std::time(nullptr));
    self_.db(
      pool_,
      [m, now](troupe::db::connection& c) {
        c.exec("INSERT INTO demo_chat_messages (user_id, text, sent_at) VALUES (?, ?, ?)", m.user_id(),
               m.text(), now);
      },
      [chat = shared_from_this(), text = m.text(), now](troupe::result<void> r) {
        if (!r.ok())
          return chat->self_.fail(r.error());
        ChatResponse resp;
        resp.set_text("Received: " + text);
        resp.set_timestamp(now);
        chat->storing_ = false;
        chat->blocked_ = !chat->self_.write(resp);
        chat->next();
      });
  }

  caf::actor pool_;
  handle self_;
  std::deque<ChatMessage> queue_;
  bool storing_ = false;
  bool blocked_ = false;  // out of write credit
  bool ended_ = false;
};

caf::behavior chat(caf::actor pool, conversation::handle self) {
  auto conv = std::make_shared<conversation>(std::move(pool), self);
  return {
    [=](ChatMessage& m) { conv->add(m); },
    [=](troupe::write_credit) { conv->credit(); },
    [=](troupe::end_of_input) { conv->end(); },
  };
}

}  // namespace

troupe::service chat_service(caf::actor pool) {
  troupe::service svc{"demo.v1.ChatService"};
  svc.bidi<ChatMessage, ChatResponse>("Chat", [pool](auto self) { return chat(pool, self); });
  return svc;
}

}  // namespace troupe::services
