#include "event_hub.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include <troupe/protobuf_messages.hpp>

#include "demo/v1/events.pb.h"

namespace troupe::services {

namespace {

struct hub_state {
  std::unordered_map<int64_t, std::vector<caf::actor>> subscribers;  // by user id
  std::unordered_map<caf::actor_addr, int64_t> user_of;
};

caf::behavior event_hub(caf::stateful_actor<hub_state>* self) {
  // A subscriber is its call actor: it leaves when its call ends.
  self->set_down_handler([self](const caf::down_msg& down) {
    auto it = self->state.user_of.find(down.source);
    if (it == self->state.user_of.end())
      return;
    auto& subs = self->state.subscribers[it->second];
    subs.erase(std::remove(subs.begin(), subs.end(), down.source), subs.end());
    if (subs.empty())
      self->state.subscribers.erase(it->second);
    self->state.user_of.erase(it);
  });
  return {
    [self](subscribe_atom, int64_t user_id) {
      auto sub = caf::actor_cast<caf::actor>(self->current_sender());
      self->monitor(sub);
      self->state.user_of.emplace(sub.address(), user_id);
      self->state.subscribers[user_id].push_back(std::move(sub));
    },
    [self](const demo::v1::Event& event, int64_t seq) {
      auto it = self->state.subscribers.find(event.user_id());
      if (it != self->state.subscribers.end())
        for (auto& sub : it->second)
          self->send(sub, event, seq);
    },
  };
}

}  // namespace

caf::actor spawn_event_hub(caf::actor_system& sys) {
  return sys.spawn(event_hub);
}

}  // namespace troupe::services
