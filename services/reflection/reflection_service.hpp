// Server reflection (grpc.reflection.v1 and v1alpha) for Troupe's services, so
// stock clients (grpcurl, grpc-js reflection, Postman) list and call them
// without .proto files.
//
// grpc++'s own reflection plugin only sees grpc::Service objects; Troupe serves
// every service through one generic service, so the plugin would list none of
// them (and would claim the same service names): it is not used.
#pragma once

#include <troupe/server.hpp>

namespace troupe::services {

// Adds grpc.reflection.v1.ServerReflection and grpc.reflection.v1alpha.ServerReflection
// to `srv`. Each list_services request asks `srv` for its service names, so
// services added before or after are all listed; files and symbols are looked
// up among the .proto descriptors linked into the program.
void add_reflection(troupe::server& srv);

}  // namespace troupe::services
