/* Fibers: a stack plus a saved context, and the switch between them.
 *
 * This is the layer under task suspension (suspend.c). Everything about
 * switching stacks lives behind it: the context switch (arch/), the stacks
 * and their pool (stack.c), the sanitizer annotations (AddressSanitizer,
 * ThreadSanitizer, valgrind; fiber.c only) and the note the stack-overflow
 * handler reads (overflow.c).
 *
 * Use:
 *
 *     fiber self;                        // on each thread that switches
 *     fiber_init_thread(&self);          // its own stack, as a fiber
 *     fiber *f = fiber_acquire(cache, entry);
 *     void *back = fiber_switch(&self, f, arg);   // entry(arg) runs on f
 *     ...                                         // until f switches back
 *
 * Rules (fiber.c's opening comment gives the reasons):
 *
 * 1. Hand-off. A fiber may be resumed only after the switch away from it has
 *    completed. A fiber never publishes itself: the code that runs after the
 *    switch (it receives the suspended fiber, e.g. as the transfer value)
 *    publishes it to other threads, with release ordering, and the thread
 *    that resumes it acquires it. Resuming a running fiber is undefined.
 * 2. Migration. A fiber suspended on one thread may be resumed on another.
 *    After any switch, code must not use a thread-local (its value or its
 *    address, errno and pthread_self() included) computed before the
 *    switch: GCC and Clang keep such addresses across calls. Pass what the
 *    resumed side needs (its worker) as the transfer value.
 * 3. A fresh fiber's entry must never return: it ends by switching away for
 *    good, with fiber_switch_abandon(), and another fiber releases it.
 * 4. Every thread that runs fibers calls fiber_init_thread() first (and
 *    overflow_thread_init(), for the overflow message). A thread must be
 *    back on its own fiber (its own stack) before it exits, and that fiber
 *    must not be running on another thread then.
 *
 * The floating-point control state (x86-64: MXCSR and the x87 control word;
 * AArch64: FPCR) belongs to each fiber: a switch saves and restores it, and
 * a fresh fiber starts with the state of the thread that acquired it. */
#ifndef SPOOL_FIBER_H
#define SPOOL_FIBER_H

#include <stdbool.h>
#include <stddef.h>

#include "stack.h"

/* The entry of a fresh fiber; receives the transfer value of the first
   switch to it. Must never return. */
typedef void (*fiber_entry)(void *transfer);

typedef struct fiber fiber;
struct fiber {
  /* The saved context while the fiber is suspended (the arch layer's
     opaque value: a stack pointer, or a ucontext). Written by the switch
     away from it, on the thread it ran on; read by the switch back to it,
     on whichever thread resumes it (the hand-off orders the two). */
  void *context;
  /* Free for the runtime (e.g. the task parked with the fiber). Neither
     read nor written here: zero on a new mapping, and otherwise what its
     last user left (fiber_acquire() does not reset it). */
  void *data;
  /* Trace slices open on this fiber (trace.c); only touched when tracing. */
  uint32_t trace_open;
  /* The runtime's: how many nested waits on this stack found no stack to
     park on beyond the cap because mapping one failed (suspend.c), so the
     overflow handler can name that cause. Written by the thread running
     the fiber, read by the overflow handler on the same thread; atomic
     (relaxed) because a signal handler reads it (C11 7.14.1.1). Zero on a
     new mapping, and back to zero when those waits end. */
  _Atomic uint32_t unparked_waits;
  /* The runtime's too: the task group of the task running on this fiber
     (runtime/group.c), NULL when none. It travels with the fiber, so a
     task that migrates keeps its group. Written and read by the thread
     running the fiber; NULL on a new mapping and whenever a fiber goes back
     to the pool (no task runs on it then). */
  struct spool_group *group;

  /* Set by stack.c when the stack is mapped; read-only afterwards (also
     read by the overflow handler). For a thread's own fiber (no spool
     stack) the guard is empty, and stack_lo/stack_hi are the thread's stack
     bounds in AddressSanitizer builds, NULL otherwise. */
  char *stack_lo;     /* lowest usable byte, just above the guard */
  char *stack_hi;     /* one past the highest usable byte (this struct) */
  char *guard_lo;     /* the guard; the mapping starts here */
  size_t guard_size;  /* 0 for a thread's own fiber */
  size_t map_size;    /* the whole mapping: guard, stack and this struct */
  size_t stack_size;  /* the configured size, named by the overflow message */
  struct fiber *next; /* link in a cache or the pool, while pooled */

  /* fiber.c's own state. entry: set by fiber_acquire(). The rest persists
     while the stack is pooled: the sanitizer handles are made once per
     mapping and dropped by fiber_forget() when it is unmapped. */
  fiber_entry entry;
  void *asan_fake_stack; /* ASan: the fake stack saved when it switched away */
  void *tsan_fiber;      /* TSan: this fiber's handle (renewed per acquire) */
  unsigned valgrind_id;  /* valgrind: the registered stack's id */
  bool annotated;        /* the handles above exist */
};

/* Makes `self` stand for the calling thread's own stack, so the thread can
   switch away from it and back. Call once per thread, before its first
   switch; `self` must stay valid while the thread uses fibers. */
void fiber_init_thread(fiber *self);

/* Undoes fiber_init_thread() (the overflow handler forgets `self`). Call
   on the thread, while it runs on `self`, before freeing `self`. */
void fiber_exit_thread(fiber *self);

/* A fresh fiber from the cache: when first switched to, it calls
   entry(transfer) with the transfer value of that switch. NULL when the
   source is at max_fibers (errno EAGAIN) or mapping failed (ENOMEM). */
fiber *fiber_acquire(fiber_cache *c, fiber_entry entry);

/* The same, past max_fibers if need be (NULL only when mapping failed):
   see fiber_cache_take_beyond_cap(). */
fiber *fiber_acquire_beyond_cap(fiber_cache *c, fiber_entry entry);

/* Gives a fiber back (no longer live). It must not be running, and must
   not be resumed afterwards; an abandoned fiber may be released by
   whichever fiber runs after it. Its stack's contents are lost. */
void fiber_release(fiber_cache *c, fiber *f);

/* Suspends the running fiber `from` (its context is saved in it) and runs
   `to`, which must be suspended or fresh. Returns when something switches
   back to `from`, possibly on another thread, with the transfer value that
   switch passed. `transfer` becomes the return value of the switch that
   suspended `to` (or, for a fresh fiber, its entry's argument). */
void *fiber_switch(fiber *from, fiber *to, void *transfer);

/* The same, for a `from` that will never be resumed: its stack may be
   released as soon as `to` runs (by `to`, or by whatever `to` hands it to).
   Under AddressSanitizer its fake stack is freed. Does not return. */
_Noreturn void fiber_switch_abandon(fiber *from, fiber *to, void *transfer);

/* Called by stack.c just before it unmaps a stack: drops the sanitizer
   handles that belong to the mapping. */
void fiber_forget(fiber *f);

#endif /* SPOOL_FIBER_H */
