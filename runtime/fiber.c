/* Fibers: preparing them, switching between them, and every sanitizer
 * annotation that switching needs (all of them live in this file).
 *
 * The hand-off invariant. A fiber's saved context is written by the switch
 * away from it, on the thread it ran on, and read by the switch back to it,
 * on whichever thread resumes it. So a fiber may be resumed only after the
 * switch away from it has completed, and that is known only on the other
 * side of the switch: the suspended fiber is handed, as the transfer value
 * (or through memory written before the switch), to the fiber that runs
 * next, and that code publishes it with release ordering; the resuming
 * thread acquires it. The switch itself is no synchronisation point between
 * threads; the publication is. The same holds for an abandoned fiber: it may
 * be released (and so reused, by any thread) only by code that runs after
 * the switch away from it.
 *
 * Migration. fiber_switch() returns on the thread that resumed the fiber,
 * which may not be the one that suspended it. Nothing here touches a
 * thread-local after a switch: the transfer value tells the resumed side
 * where it is. The one thread-local a switch writes, the overflow
 * handler's note of the running fiber, has its address taken before the
 * switch and is written by the arch switch itself, on the same thread,
 * before it leaves for the other stack.
 *
 * Annotations:
 *   AddressSanitizer  __sanitizer_start_switch_fiber() before each switch
 *                     (with the target's stack bounds, and where to save
 *                     the current fake stack, or NULL when abandoning) and
 *                     __sanitizer_finish_switch_fiber() on the resumed side;
 *                     a reused stack is unpoisoned (an abandoned run leaves
 *                     the redzones of its unfinished frames behind).
 *   ThreadSanitizer   one fiber handle per stack, kept with it in the pool
 *                     and dropped when the stack is unmapped, but renewed
 *                     on each acquire (see fiber_acquire()); each switch
 *                     calls __tsan_switch_to_fiber() (synchronising: the
 *                     switch is a real ordering within the thread), from
 *                     the function that switches stacks.
 *   valgrind          each stack registered once per mapping, so memcheck
 *                     takes a stack-pointer jump to it for a stack switch.
 */
#include "fiber.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overflow.h"

/* ---- Which annotations this build needs ------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define FIBER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FIBER_TSAN 1
#endif
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FIBER_VALGRIND 1
#endif
#endif

/* The sanitizer interfaces, declared here rather than included: the
   headers differ between GCC's and Clang's copies, these do not. */
#ifdef FIBER_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif
#ifdef FIBER_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

/* ---- The arch layer (arch/switch_*.S or arch/switch_ucontext.c) ------- */

typedef void (*fiber_arch_start)(void *transfer, void *arg);

/* Saves the running context into *save, stores `running` into
   *running_slot, and resumes `to`; returns, once something resumes the
   saved context, the transfer value it passed. */
void *fiber_arch_switch(void **save, void *to, void *transfer, void *running_slot,
                        const void *running);

/* A fresh context on [stack_lo, stack_hi) that, when switched to, calls
   start(transfer, arg) with that switch's transfer value. */
void *fiber_arch_make(void *stack_lo, void *stack_hi, fiber_arch_start start, void *arg);

/* ---- Annotations around a switch -------------------------------------- */

/* always_inline, in every build: under TSan, the function that calls
   __tsan_switch_to_fiber() must be the one that switches stacks. A helper
   that returned after it would record its return on the shadow stack of
   the fiber switched to (underflowing a fresh one: a crash at -O0). */
#define FIBER_ALWAYS_INLINE inline __attribute__((always_inline))

/* Just before the stack switch, on the suspending side. `fake_stack_save`
   is where ASan keeps the suspending fiber's fake stack, NULL when that
   fiber is abandoned (ASan frees the fake stack then). */
static FIBER_ALWAYS_INLINE void annotate_switch_out(fiber *to, void **fake_stack_save) {
#ifdef FIBER_TSAN
  /* flags 0: synchronise, since within a thread the switch is an ordering */
  __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
#ifdef FIBER_ASAN
  __sanitizer_start_switch_fiber(fake_stack_save, to->stack_lo,
                                 (size_t)(to->stack_hi - to->stack_lo));
#else
  (void)fake_stack_save;
#endif
  (void)to;
}

/* First thing on the resumed side (of fiber_switch() or a fresh start).
   Empty in ordinary builds, so that fiber_switch() tail-calls the arch
   switch (see overflow.c for the cost of a return after it). */
static FIBER_ALWAYS_INLINE void annotate_switched_in(fiber *self) {
#ifdef FIBER_ASAN
  __sanitizer_finish_switch_fiber(self->asan_fake_stack, NULL, NULL);
#else
  (void)self;
#endif
}

/* The context to resume, read on the resuming side. Under TSan, the saved
   context is also "written" in C by the suspending side (see below), so a
   resumption that the hand-off does not order after the suspension is
   reported as a race on `context`: the switch's own store, in assembly, is
   invisible to TSan. */
static FIBER_ALWAYS_INLINE void *context_to_resume(fiber *to) {
  void *context = to->context;
  assert(context && "switch to a running fiber (or one never made)");
#ifndef NDEBUG
  to->context = NULL; /* so that resuming it twice trips the assert */
#endif
  return context;
}

static FIBER_ALWAYS_INLINE void context_mark_saving(fiber *from) {
#ifdef FIBER_TSAN
  from->context = NULL; /* overwritten at once by the switch; see above */
#else
  (void)from;
#endif
}

/* ---- Fresh fibers ----------------------------------------------------- */

static _Noreturn void fiber_entry_returned(void) {
  static const char msg[] = "spool: internal error: a fiber's entry function returned\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored; /* aborting anyway */
  abort();
}

/* The first C code on a fresh fiber (called by the arch trampoline). */
static void fiber_start(void *transfer, void *arg) {
  fiber *self = arg;
  annotate_switched_in(self);
  self->entry(transfer);
  fiber_entry_returned();
}

/* Per-mapping sanitizer state, made on the first acquire of a stack. */
static void annotate_new_stack(fiber *f) {
#ifdef FIBER_TSAN
  f->tsan_fiber = __tsan_create_fiber(0);
#endif
#ifdef FIBER_VALGRIND
  /* valgrind takes the lowest and the highest byte, both inclusive */
  f->valgrind_id = VALGRIND_STACK_REGISTER(f->stack_lo, f->stack_hi - 1);
#endif
  f->annotated = true;
}

void fiber_forget(fiber *f) {
  if (!f->annotated) return;
#ifdef FIBER_ASAN
  /* Stale redzones of abandoned frames must not outlive the mapping: the
     next mapping at this address may not be a stack. */
  __asan_unpoison_memory_region(f->stack_lo, (size_t)(f->stack_hi - f->stack_lo));
#endif
#ifdef FIBER_TSAN
  __tsan_destroy_fiber(f->tsan_fiber);
  f->tsan_fiber = NULL;
#endif
#ifdef FIBER_VALGRIND
  VALGRIND_STACK_DEREGISTER(f->valgrind_id);
#endif
  f->annotated = false;
}

static fiber *fiber_prepare(fiber *f, fiber_entry entry);

fiber *fiber_acquire(fiber_cache *c, fiber_entry entry) {
  fiber *f = fiber_cache_take(c);
  return f ? fiber_prepare(f, entry) : NULL;
}

fiber *fiber_acquire_beyond_cap(fiber_cache *c, fiber_entry entry) {
  fiber *f = fiber_cache_take_beyond_cap(c);
  return f ? fiber_prepare(f, entry) : NULL;
}

/* Makes a stack from the cache ready to be switched to, calling entry. */
static fiber *fiber_prepare(fiber *f, fiber_entry entry) {
  if (!f->annotated) {
    annotate_new_stack(f);
  } else {
#ifdef FIBER_TSAN
    /* A new handle for each run: the previous run was abandoned mid-call,
       and its frames stay on the handle's shadow stack, a fixed-size
       buffer (64K frames in LLVM 14) that repeated reuse overflows. */
    __tsan_destroy_fiber(f->tsan_fiber);
    f->tsan_fiber = __tsan_create_fiber(0);
#endif
  }
#ifdef FIBER_ASAN
  /* The previous run on this stack was abandoned mid-call: the redzones of
     its unfinished frames are still poisoned. */
  __asan_unpoison_memory_region(f->stack_lo, (size_t)(f->stack_hi - f->stack_lo));
#endif
  f->entry = entry;
  f->asan_fake_stack = NULL; /* a fresh fiber has no fake stack to restore */
  f->context = fiber_arch_make(f->stack_lo, f->stack_hi, fiber_start, f);
  return f;
}

void fiber_release(fiber_cache *c, fiber *f) {
  fiber_cache_put(c, f);
}

/* ---- Threads ---------------------------------------------------------- */

void fiber_init_thread(fiber *self) {
  memset(self, 0, sizeof *self);
#ifdef FIBER_TSAN
  self->tsan_fiber = __tsan_get_current_fiber();
#endif
#ifdef FIBER_ASAN
  /* ASan needs the bounds of the stack it switches back to. */
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void *lo;
    size_t size;
    if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
      self->stack_lo = lo;
      self->stack_hi = (char *)lo + size;
    }
    pthread_attr_destroy(&attr);
  }
#endif
  overflow_note_running(self);
}

void fiber_exit_thread(fiber *self) {
  (void)self;
  overflow_note_running(NULL);
}

/* ---- Switching -------------------------------------------------------- */

void *fiber_switch(fiber *from, fiber *to, void *transfer) {
  assert(from != to);
  void *to_context = context_to_resume(to);
  context_mark_saving(from);
  annotate_switch_out(to, &from->asan_fake_stack);
  /* The note's address is this thread's: taken here, before the switch. */
  void *received =
      fiber_arch_switch(&from->context, to_context, transfer, overflow_running_slot(), to);
  /* Resumed: possibly on another thread. `from` is this fiber. */
  annotate_switched_in(from);
  return received;
}

_Noreturn void fiber_switch_abandon(fiber *from, fiber *to, void *transfer) {
  assert(from != to);
  void *to_context = context_to_resume(to);
  context_mark_saving(from);
  annotate_switch_out(to, NULL);
  fiber_arch_switch(&from->context, to_context, transfer, overflow_running_slot(), to);
  __builtin_trap(); /* an abandoned fiber was resumed */
}
