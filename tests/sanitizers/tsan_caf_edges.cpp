// Linked into ThreadSanitizer builds only (make tsan). Debian's libcaf_core is
// not instrumented: the atomic mailbox that orders a message's construction
// by its sender before its handling by the receiver is invisible to TSan, so
// every message payload would be reported as a race. These definitions
// interpose CAF's exported enqueue and mailbox-visit functions (the library
// reaches them through the PLT and its vtables' dynamic relocations), tell TSan
// about that edge — a release on the mailbox element when it is enqueued, an
// acquire when the receiver takes it — and then call CAF's own code.
#include <dlfcn.h>

#include <caf/blocking_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>
#include <sanitizer/tsan_interface.h>

namespace {

template <class F>
F real(const char* name) {
  void* sym = dlsym(RTLD_NEXT, name);
  F f;
  static_assert(sizeof f == sizeof sym);
  __builtin_memcpy(&f, &sym, sizeof f);
  return f;
}

#define TROUPE_SCHEDULED_ENQUEUE "_ZN3caf15scheduled_actor7enqueueESt10unique_ptrINS_15mailbox_elementENS_6detail8disposerEEPNS_14execution_unitE"
#define TROUPE_BLOCKING_ENQUEUE "_ZN3caf14blocking_actor7enqueueESt10unique_ptrINS_15mailbox_elementENS_6detail8disposerEEPNS_14execution_unitE"
#define TROUPE_SCHEDULED_VISIT "_ZN3caf15scheduled_actor15mailbox_visitorclERNS_15mailbox_elementE"
#define TROUPE_BLOCKING_VISIT "_ZN3caf14blocking_actor15mailbox_visitorclERNS_15mailbox_elementE"

// The member functions' own ABI: `this` first, the unique_ptr by reference to
// the caller's temporary (it is not trivially copyable).
using enqueue_fn = void (*)(void* self, caf::mailbox_element_ptr* ptr, caf::execution_unit* eu);
using visit_fn = caf::intrusive::task_result (*)(void* visitor, caf::mailbox_element& x);

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
