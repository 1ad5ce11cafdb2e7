#pragma once

namespace troupe {

// The four gRPC method shapes.
enum class rpc_kind { unary, server_stream, client_stream, bidi };

const char* to_string(rpc_kind k);

}  // namespace troupe
