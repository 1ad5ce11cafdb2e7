// The messages a call actor receives from the transport besides its requests.
// They carry no gRPC types: the actor layer knows nothing of the wire.
#pragma once

#include <cstdint>
#include <string>

#include <caf/all.hpp>

namespace troupe {

// The client half-closed its side of a client stream or bidi stream: no more
// requests will arrive.
struct end_of_input {};

// Write credit came back: the stream may send `messages` more before its
// producer should pause again. Sent only after a write returned false.
struct write_credit {
  int messages = 0;
};

// Why a call ended before its handler finished it.
enum class cancel_reason : uint8_t {
  cancelled = 1,  // the client cancelled or went away
  deadline,       // the client's deadline passed
  shutdown,       // the server is shutting down
  ended,          // the server ended the call itself: its handler overran the
                  // write window, set invalid trailing metadata or produced a
                  // response that cannot be serialised; or the call ended
                  // while its actor still ran
};

const char* to_string(cancel_reason r);

// The call is over: further writes are dropped and the actor quits right after
// its handler (if any) for this message has run.
struct cancelled {
  cancel_reason reason = cancel_reason::cancelled;
};

// The server began shutting down: calls in flight get `shutdown_grace_s` to
// finish, and a handler that would otherwise hold its call open for long (a
// feed, a watch) should end it now — `fail(troupe::shutting_down())`, with
// whatever the client needs to resume in trailing metadata. Sent once to
// every call actor; a handler without a case for it is not disturbed (a
// unary call in flight is never cut by it).
struct draining {};

// CAF error for an actor that quit because its call was cancelled; actors that
// monitor a call actor (database workers, ...) see it in their down message.
caf::error make_error(cancel_reason r);

// The name of Troupe's error category in caf::error.
constexpr caf::atom_value error_category = caf::atom("troupe");

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, end_of_input&) {
  return f(caf::meta::type_name("end_of_input"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_credit& x) {
  return f(caf::meta::type_name("write_credit"), x.messages);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, draining&) {
  return f(caf::meta::type_name("draining"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancelled& x) {
  auto reason = static_cast<uint8_t>(x.reason);
  return f(caf::meta::type_name("cancelled"), reason);
}

}  // namespace troupe
