// CAF 0.17's scheduler with one wake-up less per actor.
//
// Every actor's cleanup asks the clock thread to cancel the actor's timeouts
// (local_actor::cleanup -> clock().cancel_timeouts), which queues a request
// and wakes that thread — even for an actor that never set a timeout. With an
// actor per call that is a thread wake-up per call. This clock remembers which
// actors set ordinary, multi or request timeouts (the only entries
// cancel_timeouts removes; delayed messages are not affected) and lets every
// other actor go without disturbing its thread.
#pragma once

#include <mutex>
#include <thread>
#include <unordered_set>

#include <caf/actor_system.hpp>
#include <caf/detail/set_thread_name.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace troupe::detail {

class lean_clock : public caf::detail::thread_safe_actor_clock {
public:
  using super = caf::detail::thread_safe_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override {
    note(self);
    super::set_ordinary_timeout(t, self, type, id);
  }

  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    note(self);
    super::set_request_timeout(t, self, id);
  }

  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override {
    note(self);
    super::set_multi_timeout(t, self, type, id);
  }

  void cancel_timeouts(caf::abstract_actor* self) override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (timed_.erase(self) == 0)
        return;  // never set one: nothing to cancel
    }
    super::cancel_timeouts(self);
  }

private:
  void note(caf::abstract_actor* self) {
    std::lock_guard<std::mutex> lk(mu_);
    timed_.insert(self);
  }

  std::mutex mu_;
  std::unordered_set<caf::abstract_actor*> timed_;
};

// CAF's coordinator for `Policy`, answering clock() with a lean_clock that
// runs on a thread of its own. (The base class's clock thread still starts
// and sleeps: CAF 0.17 offers no way to replace it.)
template <class Policy>
class lean_coordinator : public caf::scheduler::coordinator<Policy> {
public:
  using super = caf::scheduler::coordinator<Policy>;
  using super::super;

  lean_clock& clock() noexcept override { return clock_; }

protected:
  void start() override {
    clock_thread_ = std::thread{[this] {
      caf::detail::set_thread_name("troupe.clock");
      this->system().thread_started();
      clock_.run_dispatch_loop();
      this->system().thread_terminates();
    }};
    super::start();
  }

  void stop() override {
    super::stop();  // actors are gone after it
    clock_.cancel_dispatch_loop();
    clock_thread_.join();
  }

private:
  lean_clock clock_;
  std::thread clock_thread_;
};

}  // namespace troupe::detail
