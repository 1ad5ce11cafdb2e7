// Linked into ThreadSanitizer builds only (make tsan). Debian's libgrpc is not
// instrumented, so TSan cannot see that starting an operation with a tag on
// one thread happens before that tag comes out of a completion queue on
// another: every buffer handed over that way would be reported as a race.
// These wrappers interpose gRPC's C entry points (libgrpc++ calls them through
// the PLT) and tell TSan about exactly that edge — a release on the tag when an
// operation starts, an acquire when its completion is taken — then call the
// real function. Nothing else changes; races in Troupe's own code stay visible.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include <grpc/grpc.h>
#include <sanitizer/tsan_interface.h>

namespace {

template <class F>
F real(const char* name) {
  static_assert(sizeof(F) == sizeof(void*));
  void* sym = dlsym(RTLD_NEXT, name);
  if (!sym) {
    std::fprintf(stderr, "tsan_grpc_edges: %s not found in libgrpc\n", name);
    std::abort();
  }
  F f;
  __builtin_memcpy(&f, &sym, sizeof f);
  return f;
}

}  // namespace

extern "C" {

grpc_call_error grpc_call_start_batch(grpc_call* call, const grpc_op* ops, size_t nops, void* tag,
                                      void* reserved) {
  static auto next = real<decltype(&grpc_call_start_batch)>("grpc_call_start_batch");
  __tsan_release(tag);
  return next(call, ops, nops, tag, reserved);
}

grpc_call_error grpc_server_request_call(grpc_server* server, grpc_call** call, grpc_call_details* details,
                                         grpc_metadata_array* request_metadata, grpc_completion_queue* bound,
                                         grpc_completion_queue* notify, void* tag) {
  static auto next = real<decltype(&grpc_server_request_call)>("grpc_server_request_call");
  __tsan_release(tag);
  return next(server, call, details, request_metadata, bound, notify, tag);
}

grpc_call_error grpc_server_request_registered_call(grpc_server* server, void* method, grpc_call** call,
                                                    gpr_timespec* deadline, grpc_metadata_array* request_metadata,
                                                    grpc_byte_buffer** payload, grpc_completion_queue* bound,
                                                    grpc_completion_queue* notify, void* tag) {
  static auto next = real<decltype(&grpc_server_request_registered_call)>("grpc_server_request_registered_call");
  __tsan_release(tag);
  return next(server, method, call, deadline, request_metadata, payload, bound, notify, tag);
}

grpc_event grpc_completion_queue_next(grpc_completion_queue* cq, gpr_timespec deadline, void* reserved) {
  static auto next = real<decltype(&grpc_completion_queue_next)>("grpc_completion_queue_next");
  grpc_event ev = next(cq, deadline, reserved);
  if (ev.type == GRPC_OP_COMPLETE)
    __tsan_acquire(ev.tag);
  return ev;
}

grpc_event grpc_completion_queue_pluck(grpc_completion_queue* cq, void* tag, gpr_timespec deadline,
                                       void* reserved) {
  static auto next = real<decltype(&grpc_completion_queue_pluck)>("grpc_completion_queue_pluck");
  grpc_event ev = next(cq, tag, deadline, reserved);
  if (ev.type == GRPC_OP_COMPLETE)
    __tsan_acquire(ev.tag);
  return ev;
}

}  // extern "C"
