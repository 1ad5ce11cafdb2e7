#include "troupe/blocking.hpp"

namespace troupe {

namespace {

// Where an actor system's blocking pool is registered (one per system).
constexpr caf::atom_value registry_key = caf::atom("blocking");

}  // namespace

blocking_pool::blocking_pool(caf::actor_system& sys, const blocking_config& cfg)
    : sys_(sys), pool_(db::pool::start_blocking(sys, cfg)) {
  sys_.registry().put(registry_key, pool_.actor());
}

blocking_pool::~blocking_pool() {
  sys_.registry().erase(registry_key);
}

caf::actor blocking_pool::of(caf::actor_system& sys) {
  return sys.registry().get<caf::actor>(registry_key);
}

}  // namespace troupe
