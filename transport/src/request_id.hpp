// Request ids: the client's own `x-request-id` when it is sane, else a fresh
// random one, so every call can be found in logs on both sides.
#pragma once

#include <map>
#include <string>

#include <grpcpp/support/string_ref.h>

namespace troupe::detail {

// The id a call goes by: the first `x-request-id` of `metadata` if it has 1 to
// 128 visible ASCII characters (no spaces, so log lines stay key=value), else
// a generated one.
std::string pick_request_id(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

// 128 random bits as 32 lowercase hex digits.
std::string generate_request_id();

}  // namespace troupe::detail
