// grpc.health.v1.Health served by Troupe itself (Check and Watch), so the
// server controls it directly — NOT_SERVING the moment shutdown starts — and
// no gRPC callback-API service (with its own polling threads) is needed.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <caf/all.hpp>

#include "troupe/service.hpp"

namespace troupe::detail {

// Serving status of the whole server ("") and of each service.
class health_state {
public:
  // The values of grpc.health.v1.HealthCheckResponse.ServingStatus.
  enum status : int { serving = 1, not_serving = 2, service_unknown = 3 };

  void set(const std::string& service, bool serving);
  void set_all(bool serving);
  status get(const std::string& service) const;

  // Sends `watcher` a health_update now and on every later change of `service`.
  void watch(const std::string& service, const caf::actor& watcher);

private:
  void notify_locked(const std::string& service, status st);

  mutable std::mutex mu_;
  std::map<std::string, status> status_;
  std::multimap<std::string, caf::weak_actor_ptr> watchers_;
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
