#include "pool_actor.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "worker.hpp"

namespace troupe::db {

namespace {

// A queued job's own deadline passed before a worker was free.
using expire_atom = caf::atom_constant<caf::atom("dbexpire")>;

struct queued_job {
  uint64_t id = 0;
  caf::strong_actor_ptr owner;
  clock::time_point deadline;
  job_function work;
  caf::response_promise promise;
};

struct running_job {
  uint64_t id = 0;
  caf::actor_addr owner;
  caf::response_promise promise;
};

struct worker_slot {
  caf::actor actor;
  std::shared_ptr<job_control> control;
  std::optional<running_job> job;  // empty: idle
};

struct pool_state {
  std::vector<worker_slot> workers;
  std::deque<queued_job> queue;
  // Jobs (queued or running) per owner; an owner is monitored while it has any.
  std::map<caf::actor_addr, size_t> owners;
  std::chrono::milliseconds job_timeout{0};
  size_t queue_limit = 0;
  uint64_t next_id = 1;

  static inline const char* name = "troupe.db.pool";
};

using pool_actor = caf::stateful_actor<pool_state>;

job_result failed(errc code, std::string message) {
  return {nullptr, error{code, std::move(message)}};
}

caf::actor_addr address_of(const caf::strong_actor_ptr& owner) {
  return caf::actor_cast<caf::actor_addr>(owner);
}

void watch(pool_actor* self, const caf::strong_actor_ptr& owner) {
  if (owner && self->state.owners[address_of(owner)]++ == 0)
    self->monitor(owner);
}

void unwatch(pool_actor* self, const caf::actor_addr& owner) {
  auto& owners = self->state.owners;
  auto i = owners.find(owner);
  if (i == owners.end() || --i->second > 0)
    return;
  owners.erase(i);
  self->demonitor(owner);
}

void dispatch_next(pool_actor* self, size_t index);

void finish(pool_actor* self, size_t index, job_result result) {
  auto& slot = self->state.workers[index];
  auto job = std::move(*slot.job);
  slot.job.reset();
  job.promise.deliver(std::move(result));
  unwatch(self, job.owner);
  dispatch_next(self, index);
}

void start(pool_actor* self, size_t index, queued_job q) {
  auto& slot = self->state.workers[index];
  // The job timeout counts from the start of the run, not from the queue.
  auto deadline = std::min(q.deadline, clock::now() + self->state.job_timeout);
  slot.job = running_job{q.id, address_of(q.owner), std::move(q.promise)};
  self->request(slot.actor, caf::infinite, worker_job{q.id, deadline, std::move(q.work)})
    .then([self, index](job_result& r) { finish(self, index, std::move(r)); },
          [self, index](caf::error& e) {
            finish(self, index, failed(errc::unavailable, "database worker: " + self->system().render(e)));
          });
}

void dispatch_next(pool_actor* self, size_t index) {
  auto& queue = self->state.queue;
  while (!queue.empty()) {
    auto q = std::move(queue.front());
    queue.pop_front();
    if (q.deadline > clock::now())
      return start(self, index, std::move(q));
    q.promise.deliver(failed(errc::deadline, "the deadline passed while the job waited for a worker"));
    unwatch(self, address_of(q.owner));
  }
}

void accept(pool_actor* self, job& j) {
  auto& st = self->state;
  auto promise = self->make_response_promise();
  auto now = clock::now();
  if (j.deadline <= now) {
    promise.deliver(failed(errc::deadline, "the deadline had passed before the job arrived"));
    return;
  }
  queued_job q{st.next_id++, j.owner ? j.owner : self->current_sender(), j.deadline, std::move(j.work),
               std::move(promise)};
  auto idle = std::find_if(st.workers.begin(), st.workers.end(), [](const worker_slot& w) { return !w.job; });
  if (idle == st.workers.end() && st.queue.size() >= st.queue_limit) {
    q.promise.deliver(failed(errc::busy, "all " + std::to_string(st.workers.size()) + " workers are busy and " +
                                           std::to_string(st.queue.size()) + " jobs are queued"));
    return;
  }
  watch(self, q.owner);
  if (idle != st.workers.end())
    return start(self, static_cast<size_t>(idle - st.workers.begin()), std::move(q));
  if (q.deadline != clock::time_point::max())
    self->delayed_send(self, q.deadline - now, expire_atom::value, q.id);
  st.queue.push_back(std::move(q));
}

void expire(pool_actor* self, uint64_t id) {
  auto& queue = self->state.queue;
  auto i = std::find_if(queue.begin(), queue.end(), [id](const queued_job& q) { return q.id == id; });
  if (i == queue.end())
    return;  // already running or done
  i->promise.deliver(failed(errc::deadline, "the deadline passed while the job waited for a worker"));
  unwatch(self, address_of(i->owner));
  queue.erase(i);
}

// The owner terminated: nobody wants its jobs' results any more.
void owner_down(pool_actor* self, const caf::actor_addr& owner) {
  auto& st = self->state;
  st.owners.erase(owner);
  st.queue.erase(std::remove_if(st.queue.begin(), st.queue.end(),
                                [&](const queued_job& q) { return address_of(q.owner) == owner; }),
                 st.queue.end());
  for (auto& slot : st.workers)
    if (slot.job && slot.job->owner == owner)
      slot.control->cancel(slot.job->id);
}

void shut_down(pool_actor* self, const caf::error& reason) {
  auto& st = self->state;
  for (auto& slot : st.workers) {
    if (slot.job) {
      slot.control->cancel(slot.job->id);
      slot.job->promise.deliver(failed(errc::unavailable, "the database pool stopped"));
    }
    self->send_exit(slot.actor, reason ? reason : caf::make_error(caf::exit_reason::user_shutdown));
  }
  for (auto& q : st.queue)
    q.promise.deliver(failed(errc::unavailable, "the database pool stopped"));
  st.queue.clear();
  self->quit(reason);
}

caf::behavior pool_behavior(pool_actor* self, pool_setup setup) {
  auto& st = self->state;
  st.job_timeout = setup.job_timeout;
  st.queue_limit = setup.queue_limit;
  for (auto& w : setup.workers) {
    auto actor = self->spawn<caf::detached + caf::linked>(worker, std::move(w.connection), w.control);
    st.workers.push_back({std::move(actor), std::move(w.control), std::nullopt});
  }
  self->set_down_handler([self](caf::down_msg& m) { owner_down(self, m.source); });
  // A stop request, or a worker that died.
  self->set_exit_handler([self](caf::exit_msg& m) { shut_down(self, m.reason); });
  return {
    [self](job& j) { accept(self, j); },
    [self](expire_atom, uint64_t id) { expire(self, id); },
  };
}

}  // namespace

caf::actor spawn_pool_actor(caf::actor_system& sys, pool_setup setup) {
  return sys.spawn(pool_behavior, std::move(setup));
}

}  // namespace troupe::db
