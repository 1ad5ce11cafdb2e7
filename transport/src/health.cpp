#include "health.hpp"

#include "grpc/health/v1/health.pb.h"

namespace troupe::detail {

namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

HealthCheckResponse response(int st) {
  HealthCheckResponse r;
  r.set_status(static_cast<HealthCheckResponse::ServingStatus>(st));
  return r;
}

}  // namespace

void health_state::set(const std::string& service, bool serving) {
  std::lock_guard<std::mutex> lk(mu_);
  auto st = serving ? health_state::serving : not_serving;
  status_[service] = st;
  notify_locked(service, st);
}

void health_state::set_all(bool serving) {
  std::lock_guard<std::mutex> lk(mu_);
  auto st = serving ? health_state::serving : not_serving;
  for (auto& [name, value] : status_) {
    value = st;
    notify_locked(name, st);
  }
}

health_state::status health_state::get(const std::string& service) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = status_.find(service);
  return it == status_.end() ? service_unknown : it->second;
}

void health_state::watch(const std::string& service, const caf::actor& watcher) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = status_.find(service);
  caf::anon_send(watcher, health_update{it == status_.end() ? service_unknown : it->second});
  watchers_.emplace(service, caf::actor_cast<caf::weak_actor_ptr>(watcher));
}

void health_state::notify_locked(const std::string& service, status st) {
  auto [first, last] = watchers_.equal_range(service);
  for (auto it = first; it != last;) {
    if (auto watcher = caf::actor_cast<caf::actor>(it->second)) {
      caf::anon_send(watcher, health_update{st});
      ++it;
    } else {
      it = watchers_.erase(it);  // its stream has ended
    }
  }
}

troupe::service health_service(std::shared_ptr<health_state> state) {
  troupe::service svc{"grpc.health.v1.Health"};
  svc.unary<HealthCheckRequest, HealthCheckResponse>(
    "Check", [state](call&, const HealthCheckRequest& req) -> result<HealthCheckResponse> {
      auto st = state->get(req.service());
      if (st == health_state::service_unknown)
        return not_found("unknown service " + req.service());
      return response(st);
    });
  svc.server_stream<HealthCheckRequest, HealthCheckResponse>(
    "Watch", [state](server_stream_actor<HealthCheckRequest, HealthCheckResponse> self) -> caf::behavior {
      auto last = std::make_shared<int>(0);
      return {
        [=](const HealthCheckRequest& req) {
          state->watch(req.service(), caf::actor_cast<caf::actor>(self.actor()));
        },
        // Only changes are sent, as the protocol asks; a watcher that stops
        // reading keeps at most its write window of updates.
        [=](health_update u) {
          if (u.status != *last) {
            *last = u.status;
            self.write(response(u.status));
          }
        },
      };
    });
  return svc;
}

}  // namespace troupe::detail
