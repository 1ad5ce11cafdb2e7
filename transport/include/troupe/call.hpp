// A call as its handler sees it: who called, with what metadata and deadline.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "troupe/auth.hpp"
#include "troupe/detail/call_endpoint.hpp"
#include "troupe/status.hpp"

namespace troupe {

class call {
public:
  explicit call(std::shared_ptr<detail::call_endpoint> ep) : ep_(std::move(ep)) {}

  // "/package.Service/Method".
  const std::string& method() const { return ep_->method(); }

  // The client's address, e.g. "ipv4:127.0.0.1:53412".
  std::string peer() const { return ep_->context().peer(); }

  // The caller its API key named ([auth]); nullptr when the call is anonymous.
  const caller* user() const { return ep_->user(); }

  // The caller, or throws status_error(UNAUTHENTICATED): for methods that
  // need a user even when [auth] lets anonymous calls through.
  const caller& require_user() const {
    if (auto* who = user())
      return *who;
    throw status_error(unauthenticated("this method needs an API key"));
  }

  // When the client stops waiting (time_point::max() when it set no deadline).
  std::chrono::system_clock::time_point deadline() const { return ep_->deadline(); }

  // The first value of request metadata `key` (lower-case), if sent.
  std::optional<std::string_view> metadata(std::string_view key) const {
    auto& md = ep_->context().client_metadata();
    auto it = md.find(grpc::string_ref(key.data(), key.size()));
    if (it == md.end())
      return std::nullopt;
    return std::string_view(it->second.data(), it->second.size());
  }

  // Adds trailing metadata to the response; ignored once the call is finishing.
  // gRPC's rules apply: a key of 0-9 a-z - _ . only, not starting with grpc-;
  // a value of printable ASCII (0x20-0x7E) unless the key ends with -bin (any
  // bytes). Metadata breaking them ends the call with INTERNAL and a log line.
  void set_trailing_metadata(const std::string& key, const std::string& value) {
    ep_->add_trailing_metadata(key, value);
  }

  // True once the call is finished or cancelled; writes are then dropped.
  bool over() const { return ep_->over(); }

  // True once nobody waits for the answer: the call is over or its deadline
  // passed. Blocking code that is not a database query (which is interrupted
  // for it) polls this between steps and returns early.
  bool cancelled() const { return over() || std::chrono::system_clock::now() >= deadline(); }

  detail::call_endpoint& endpoint() const { return *ep_; }

private:
  std::shared_ptr<detail::call_endpoint> ep_;
};

}  // namespace troupe
