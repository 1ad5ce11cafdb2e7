// Troupe's scheduler (actors/src/lean_scheduler.hpp): CAF's, with a clock that
// is not woken for actors that never set a timeout. Timers of every kind must
// still work.
#include <gtest/gtest.h>

#include <dirent.h>

#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include <caf/all.hpp>

#include <troupe/actor_system.hpp>

namespace troupe::test {
namespace {

using namespace std::chrono_literals;
using ping_atom = caf::atom_constant<caf::atom("ping")>;

caf::actor_system_config& configured(caf::actor_system_config& cfg) {
  scheduler_config sc;
  sc.max_threads = 2;
  apply_scheduler_config(sc, cfg);
  return cfg;
}

bool has_thread_named(const std::string& name) {
  DIR* dir = opendir("/proc/self/task");
  bool found = false;
  while (auto* entry = readdir(dir)) {
    std::ifstream comm(std::string("/proc/self/task/") + entry->d_name + "/comm");
    std::string n;
    if (comm >> n && n == name)
      found = true;
  }
  closedir(dir);
  return found;
}

class scheduler : public ::testing::Test {
protected:
  caf::actor_system_config cfg;
  caf::actor_system sys{configured(cfg)};
};

TEST_F(scheduler, troupes_clock_runs) {
  // The thread names itself once running: wait for it, boundedly.
  auto end = std::chrono::steady_clock::now() + 5s;
  while (!has_thread_named("troupe.clock") && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(has_thread_named("troupe.clock"));
}

TEST_F(scheduler, delayed_messages_arrive) {
  // State goes in as spawn arguments: CAF 0.17.6 trips UBSan when it starts
  // a function actor spawned without any.
  std::promise<void> got;
  sys.spawn(
    [](caf::event_based_actor* self, std::promise<void>* got) -> caf::behavior {
      self->delayed_send(self, 30ms, ping_atom::value);
      return {[=](ping_atom) {
        got->set_value();
        self->quit();
      }};
    },
    &got);
  EXPECT_EQ(got.get_future().wait_for(5s), std::future_status::ready);
}

TEST_F(scheduler, receive_timeouts_fire_and_cancelled_ones_do_not) {
  std::promise<int> fired;
  sys.spawn(
    [](caf::event_based_actor* self, std::promise<int>* fired) -> caf::behavior {
      return {
        [](int) {},
        caf::after(30ms) >> [=] {
          fired->set_value(1);
          self->quit();
        },
      };
    },
    &fired);
  EXPECT_EQ(fired.get_future().wait_for(5s), std::future_status::ready);
  // An actor that quits with a timeout pending must not see it fire later.
  std::atomic<int> late{0};
  auto b = sys.spawn(
    [](caf::event_based_actor* self, std::atomic<int>* late) -> caf::behavior {
      return {
        [self](ping_atom) { self->quit(); },
        caf::after(100ms) >> [=] { ++*late; },
      };
    },
    &late);
  caf::anon_send(b, ping_atom::value);
  sys.await_all_actors_done();
  std::this_thread::sleep_for(200ms);  // past the cancelled timeout: nothing may run
  EXPECT_EQ(late, 0);
}

TEST_F(scheduler, request_timeouts_fire) {
  std::promise<caf::error> failed;
  std::atomic<int> unanswered{0};
  auto silent = sys.spawn(
    [](caf::event_based_actor*, std::atomic<int>* unanswered) -> caf::behavior {
      return {[=](ping_atom) -> caf::result<int> {
        ++*unanswered;
        return caf::delegated<int>();
      }};
    },
    &unanswered);
  sys.spawn(
    [](caf::event_based_actor* self, caf::actor silent, std::promise<caf::error>* failed) {
      self->request(silent, 30ms, ping_atom::value)
        .then([](int) {}, [=](caf::error& e) { failed->set_value(e); });
    },
    silent, &failed);
  auto f = failed.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), caf::sec::request_timeout);
  EXPECT_EQ(unanswered, 1);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace troupe::test
