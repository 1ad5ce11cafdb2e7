#include "event_hub.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include <troupe/protobuf_messages.hpp>

#include "demo/v1/events.pb.h"

namespace troupe::services {

namespace {

// Class-based rather than a function: CAF 0.17.6 trips UndefinedBehaviorSanitizer
// when it starts a function actor spawned without arguments.
class event_hub : public caf::event_based_actor {
public:
  using caf::event_based_actor::event_based_actor;

  caf::behavior make_behavior() override {
    // A subscriber is its call actor: it leaves when its call ends.
    set_down_handler([this](const caf::down_msg& down) {
      auto it = user_of_.find(down.source);
      if (it == user_of_.end())
        return;
      auto& subs = subscribers_[it->second];
      subs.erase(std::remove(subs.begin(), subs.end(), down.source), subs.end());
      if (subs.empty())
        subscribers_.erase(it->second);
      user_of_.erase(it);
    });
    return {
      [this](subscribe_atom, int64_t user_id) {
        auto sub = caf::actor_cast<caf::actor>(current_sender());
        monitor(sub);
        user_of_.emplace(sub.address(), user_id);
        subscribers_[user_id].push_back(std::move(sub));
      },
      [this](const demo::v1::Event& event, int64_t seq) {
        auto it = subscribers_.find(event.user_id());
        if (it != subscribers_.end())
          for (auto& sub : it->second)
            send(sub, event, seq);
      },
    };
  }

private:
  std::unordered_map<int64_t, std::vector<caf::actor>> subscribers_;  // by user id
  std::unordered_map<caf::actor_addr, int64_t> user_of_;
};

}  // namespace

caf::actor spawn_event_hub(caf::actor_system& sys) {
  return sys.spawn<event_hub>();
}

}  // namespace troupe::services
