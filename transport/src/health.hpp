// grpc.health.v1.Health served by Troupe itself (Check and Watch), so the
// server controls it directly — NOT_SERVING the moment shutdown starts — and
// no gRPC callback-API service (with its own polling threads) is needed.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "troupe/service.hpp"

namespace troupe::detail {

// Serving status of the whole server ("") and of each service.
class health_state {
  using watcher_map = std::multimap<std::string, caf::weak_actor_ptr>;

public:
  // The values of grpc.health.v1.HealthCheckResponse.ServingStatus.
  enum status : int { serving = 1, not_serving = 2, service_unknown = 3 };

  // One watch's entry, kept until unwatch(): a stream whose service never
  // changes (an unknown name, say) must cost nothing once it has ended.
  using watch_id = watcher_map::iterator;

  void set(const std::string& service, bool serving);
  void set_all(bool serving);
  status get(const std::string& service) const;

  // Sends `watcher` a health_update now and on every later change of
  // `service`, until unwatch() with the id returned.
  watch_id watch(const std::string& service, const caf::actor& watcher);
  void unwatch(watch_id id);

  // Watches not yet unwatched.
  size_t watchers() const;

private:
  // Strong handles made while sending go in `keep`, to be released after
  // the lock: the last one may run an actor's exit, which unwatches.
  void notify_locked(const std::string& service, status st, std::vector<caf::actor>& keep);

  mutable std::mutex mu_;
  std::map<std::string, status> status_;
  watcher_map watchers_;
};

// What a Watch stream's actor receives.
struct health_update {
  int status = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_update& x) {
  return f(caf::meta::type_name("health_update"), x.status);
}

troupe::service health_service(std::shared_ptr<health_state> state);

}  // namespace troupe::detail
