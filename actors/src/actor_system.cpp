#include "troupe/actor_system.hpp"

#include <thread>

#include <caf/atom.hpp>

#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>

#include "lean_scheduler.hpp"
#include "troupe/call_messages.hpp"

namespace troupe {

void apply_scheduler_config(const scheduler_config& sc, caf::actor_system_config& cfg) {
  size_t threads = sc.max_threads > 0 ? static_cast<size_t>(sc.max_threads)
                                      : std::max(1u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", threads);
  cfg.set("scheduler.max-throughput", static_cast<size_t>(sc.max_throughput));
  cfg.set("scheduler.policy", sc.policy == "stealing" ? caf::atom("stealing") : caf::atom("sharing"));
  // A scheduler loaded as a module replaces the one CAF would pick from the
  // policy; this one saves a clock-thread wake-up per actor (lean_scheduler.hpp).
  bool stealing = sc.policy == "stealing";
  cfg.module_factories.push_back([stealing](caf::actor_system& sys) -> caf::actor_system::module* {
    if (stealing)
      return new detail::lean_coordinator<caf::policy::work_stealing>(sys);
    return new detail::lean_coordinator<caf::policy::work_sharing>(sys);
  });
  // Troupe's cancel reasons read well in CAF's own messages and logs.
  // (CAF 0.17.6's templated add_error_category<T> does not compile; this is the
  // explicit form.)
  cfg.add_error_category(error_category, [](uint8_t code, caf::atom_value, const caf::message&) {
    return std::string("troupe.") + to_string(static_cast<cancel_reason>(code));
  });
}

}  // namespace troupe
