// Linked into ThreadSanitizer builds only (make tsan). Debian's libcaf_core is
// not instrumented, so two orderings it makes with atomics are invisible to
// TSan: a message is built by its sender before the receiver handles it, and
// one run of an actor (on one scheduler thread) ends before its next run (on
// another) begins. Without them every message payload and every actor's own
// state would be reported as a race. These definitions interpose CAF's
// exported enqueue, mailbox-visit and resume functions (the library reaches
// them through the PLT and its vtables' dynamic relocations), tell TSan about
// those edges — a release on the mailbox element when it is enqueued and an
// acquire when the receiver takes it; an acquire on the actor when a run
// begins and a release when it ends — and then call CAF's own code.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include <caf/blocking_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>
#include <sanitizer/tsan_interface.h>

namespace {

template <class F>
F real(const char* name) {
  void* sym = dlsym(RTLD_NEXT, name);
  if (!sym) {
    std::fprintf(stderr, "tsan_caf_edges: %s not found in libcaf_core\n", name);
    std::abort();
  }
  F f;
  static_assert(sizeof f == sizeof sym);
  __builtin_memcpy(&f, &sym, sizeof f);
  return f;
}

#define TROUPE_SCHEDULED_ENQUEUE "_ZN3caf15scheduled_actor7enqueueESt10unique_ptrINS_15mailbox_elementENS_6detail8disposerEEPNS_14execution_unitE"
#define TROUPE_BLOCKING_ENQUEUE "_ZN3caf14blocking_actor7enqueueESt10unique_ptrINS_15mailbox_elementENS_6detail8disposerEEPNS_14execution_unitE"
#define TROUPE_SCHEDULED_VISIT "_ZN3caf15scheduled_actor15mailbox_visitorclERNS_15mailbox_elementE"
#define TROUPE_BLOCKING_VISIT "_ZN3caf14blocking_actor15mailbox_visitorclERNS_15mailbox_elementE"
#define TROUPE_SCHEDULED_RESUME "_ZN3caf15scheduled_actor6resumeEPNS_14execution_unitEm"
// The same, entered through the `resumable` base (160 bytes into the actor),
// as the scheduler calls it.
#define TROUPE_SCHEDULED_RESUME_THUNK "_ZThn160_N3caf15scheduled_actor6resumeEPNS_14execution_unitEm"

// Where the `resumable` base sits in a scheduled_actor (the 160 in the
// thunk's name; a CAF build with another layout has no such symbol and stops
// in real() below).
long resumable_offset() {
  alignas(caf::scheduled_actor) static char storage[sizeof(caf::scheduled_actor)];
  auto* actor = reinterpret_cast<caf::scheduled_actor*>(storage);
  return reinterpret_cast<char*>(static_cast<caf::resumable*>(actor)) - storage;
}

// The member functions' own ABI: `this` first, the unique_ptr by reference to
// the caller's temporary (it is not trivially copyable).
using enqueue_fn = void (*)(void* self, caf::mailbox_element_ptr* ptr, caf::execution_unit* eu);
using visit_fn = caf::intrusive::task_result (*)(void* visitor, caf::mailbox_element& x);
using resume_fn = caf::resumable::resume_result (*)(void* self, caf::execution_unit* eu, size_t max_throughput);

// One run of the actor at `actor`: ordered after its previous run.
caf::resumable::resume_result run_once(resume_fn next, void* self, void* actor, caf::execution_unit* eu,
                                       size_t max_throughput) {
  __tsan_acquire(actor);
  auto result = next(self, eu, max_throughput);
  __tsan_release(actor);  // the actor may be gone: only the address is used
  return result;
}

}  // namespace

void troupe_tsan_scheduled_enqueue(void* self, caf::mailbox_element_ptr* ptr, caf::execution_unit* eu)
  __asm__(TROUPE_SCHEDULED_ENQUEUE);
void troupe_tsan_scheduled_enqueue(void* self, caf::mailbox_element_ptr* ptr, caf::execution_unit* eu) {
  static auto next = real<enqueue_fn>(TROUPE_SCHEDULED_ENQUEUE);
  __tsan_release(ptr->get());
  next(self, ptr, eu);
}

void troupe_tsan_blocking_enqueue(void* self, caf::mailbox_element_ptr* ptr, caf::execution_unit* eu)
  __asm__(TROUPE_BLOCKING_ENQUEUE);
void troupe_tsan_blocking_enqueue(void* self, caf::mailbox_element_ptr* ptr, caf::execution_unit* eu) {
  static auto next = real<enqueue_fn>(TROUPE_BLOCKING_ENQUEUE);
  __tsan_release(ptr->get());
  next(self, ptr, eu);
}

caf::intrusive::task_result troupe_tsan_scheduled_visit(void* visitor, caf::mailbox_element& x)
  __asm__(TROUPE_SCHEDULED_VISIT);
caf::intrusive::task_result troupe_tsan_scheduled_visit(void* visitor, caf::mailbox_element& x) {
  static auto next = real<visit_fn>(TROUPE_SCHEDULED_VISIT);
  __tsan_acquire(&x);
  return next(visitor, x);
}

caf::intrusive::task_result troupe_tsan_blocking_visit(void* visitor, caf::mailbox_element& x)
  __asm__(TROUPE_BLOCKING_VISIT);
caf::intrusive::task_result troupe_tsan_blocking_visit(void* visitor, caf::mailbox_element& x) {
  static auto next = real<visit_fn>(TROUPE_BLOCKING_VISIT);
  __tsan_acquire(&x);
  return next(visitor, x);
}

caf::resumable::resume_result troupe_tsan_resume(void* self, caf::execution_unit* eu, size_t max_throughput)
  __asm__(TROUPE_SCHEDULED_RESUME);
caf::resumable::resume_result troupe_tsan_resume(void* self, caf::execution_unit* eu, size_t max_throughput) {
  static auto next = real<resume_fn>(TROUPE_SCHEDULED_RESUME);
  return run_once(next, self, self, eu, max_throughput);
}

caf::resumable::resume_result troupe_tsan_resume_thunk(void* self, caf::execution_unit* eu, size_t max_throughput)
  __asm__(TROUPE_SCHEDULED_RESUME_THUNK);
caf::resumable::resume_result troupe_tsan_resume_thunk(void* self, caf::execution_unit* eu, size_t max_throughput) {
  static auto next = real<resume_fn>(TROUPE_SCHEDULED_RESUME_THUNK);
  return run_once(next, self, static_cast<char*>(self) - resumable_offset(), eu, max_throughput);
}
