// Who is calling. With [auth] on, the transport checks the API key a call
// sends before the call reaches its actor; handlers then read the caller:
//
//   if (const troupe::caller* who = call.user()) ...   // nullptr: anonymous
//   const troupe::caller& who = call.require_user();   // or UNAUTHENTICATED
//
// The keys themselves live in the database (api_keys.hpp); the transport only
// asks a key_checker.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "troupe/status.hpp"

namespace troupe {

struct caller {
  int64_t user_id = 0;
  std::string user;        // the user's name
  std::string key_prefix;  // the key's first 8 hex digits, for logs
};

// The outcome of checking one key: OK with the caller, or the status the call
// ends with (UNAUTHENTICATED for a bad key, UNAVAILABLE when keys cannot be
// looked up right now).
struct auth_verdict {
  status st;
  std::optional<caller> who;

  static auth_verdict allow(caller c) { return {status::OK, std::move(c)}; }
  static auth_verdict deny(status s) { return {std::move(s), std::nullopt}; }
};

// Decides whether an API key is valid. The transport calls it on its own
// threads for every call that sends a key, so it must not block.
class key_checker {
public:
  using reply = std::function<void(auth_verdict)>;
  // Asked before a key the checker knows nothing of is looked up, since that
  // look-up may be a guess: a verdict refuses it (the call ends with that
  // verdict, nothing is looked up), nullopt lets it go ahead.
  using guess_admission = std::function<std::optional<auth_verdict>()>;

  virtual ~key_checker() = default;

  // Returns the verdict when it is known at once (a cached valid key, a
  // malformed one), or the refusal `admit` returned. Otherwise returns
  // nullopt and calls `later` exactly once, from another thread. `admit` is
  // called at most once, on this thread, and only for a key that is not
  // cached, was not valid at its last look-up, and is not being looked up
  // already (a call with such a key waits for that look-up).
  virtual std::optional<auth_verdict> check(std::string_view key, const guess_admission& admit,
                                            reply later) = 0;
};

}  // namespace troupe
