// Publish/subscribe for the event feed. Publishers send each committed event
// to the hub as (Event, seq), seq being the event's number among its user's
// events; the hub forwards it to the subscribers of that user. Sending never
// blocks, so a slow subscriber slows neither publishers nor other subscribers
// (each bounds its own buffer, see events_service.cpp).
#pragma once

#include <caf/all.hpp>

namespace troupe::services {

// (subscribe_atom, int64_t user_id) -> (): the sender gets that user's events
// from the moment of the reply until it terminates.
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;

// It quits once nothing refers to it (no service, no subscriber).
caf::actor spawn_event_hub(caf::actor_system& sys);

}  // namespace troupe::services
