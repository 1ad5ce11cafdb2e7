// The listening port's credentials from [tls]: TLS (optionally mutual) when
// configured, plaintext only when it is not — never plaintext as a fallback.
#pragma once

#include <memory>

#include <grpcpp/security/server_credentials.h>

#include "troupe/config.hpp"

namespace troupe::detail {

// Reads the PEM files named in `tls`. Throws startup_error naming the key and
// path when a file is missing, unreadable or not PEM.
std::shared_ptr<grpc::ServerCredentials> server_credentials(const tls_config& tls);

}  // namespace troupe::detail
