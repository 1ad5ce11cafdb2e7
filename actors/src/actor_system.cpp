#include "troupe/actor_system.hpp"

#include <thread>

#include <caf/atom.hpp>

namespace troupe {

void apply_scheduler_config(const scheduler_config& sc, caf::actor_system_config& cfg) {
  size_t threads = sc.max_threads > 0 ? static_cast<size_t>(sc.max_threads)
                                      : std::max(1u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", threads);
  cfg.set("scheduler.max-throughput", static_cast<size_t>(sc.max_throughput));
  cfg.set("scheduler.policy", sc.policy == "stealing" ? caf::atom("stealing") : caf::atom("sharing"));
  // Troupe's cancel reasons read well in CAF's own messages and logs.
  cfg.add_error_category<cancel_reason>(error_category);
}

}  // namespace troupe
