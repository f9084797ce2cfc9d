/* The stack-overflow handler: a clear message instead of a bare SIGSEGV.
 *
 * A task that overflows its fiber stack touches the guard below it (64 KiB
 * or more, stack.h). The handler (SIGSEGV and SIGBUS, on an alternate
 * signal stack, since the faulting stack has no room left) recognises a
 * fault the kernel raised (si_code > 0) inside the guard of the fiber
 * running on the faulting thread, writes one line to stderr
 * naming the problem and the fix, and aborts. Every other fault goes to the
 * handler installed before it, as if spool were not there.
 *
 * The running fiber is known through a thread-local, the note below, that
 * every switch updates (the arch switch stores into it, between the two
 * stacks); the handler only reads it, so it stays async-signal-safe.
 *
 * Turning it off is not calling overflow_install(). Once installed, the
 * handler stays for the life of the process (other threads may fault at
 * any time), so the shared library is linked with -z nodelete: a
 * dlclose() must not unmap the handler's code
 * (tests/hardening/dlclose_handler.c). */
#ifndef SPOOL_OVERFLOW_H
#define SPOOL_OVERFLOW_H

#include <stdatomic.h>

struct fiber;

/* The note: the fiber whose stack the calling thread is on (or about to
   switch to), NULL if none. Written by this thread only: by
   overflow_note_running(), and by fiber_arch_switch() through the address
   overflow_running_slot() gave before the switch. Read by the handler, on
   the same thread (a fault is delivered to the thread that faulted).
   initial-exec: reading it in the handler must not call __tls_get_addr(),
   which may allocate (a program may dlopen() the library, as static TLS
   has room left: glibc keeps a surplus for that). */
extern _Thread_local _Atomic(const struct fiber *) overflow_running_fiber
    __attribute__((tls_model("initial-exec")));

/* This thread's note. The address is only good on the thread that took
   it: take it afresh after every switch (DESIGN.md, "Migration across
   threads"); fiber_switch() takes it before the switch and the arch switch
   uses it before it leaves the thread's current stack. */
static inline _Atomic(const struct fiber *) *overflow_running_slot(void) {
  return &overflow_running_fiber;
}

/* Notes `f` (NULL: nothing) as running on the calling thread, outside a
   switch: when a thread starts or stops using fibers. */
static inline void overflow_note_running(const struct fiber *f) {
  /* relaxed: only this thread's own signal handler reads it */
  atomic_store_explicit(&overflow_running_fiber, f, memory_order_relaxed);
}

/* Installs the handler for the whole process, once: later calls return the
   first call's result. Returns 0, or -1 with errno from sigaction(). */
int overflow_install(void);

/* Gives the calling thread an alternate signal stack for the handler to run
   on, unless it has one already. Every thread that runs fibers needs one
   (without it the handler would run on the overflowed stack and the kernel
   kills the process with a plain SIGSEGV). Returns 0, or -1 with errno
   ENOMEM. Idempotent. */
int overflow_thread_init(void);

/* Removes and frees the alternate stack overflow_thread_init() made on the
   calling thread, if any. Call before the thread exits. */
void overflow_thread_teardown(void);

#endif /* SPOOL_OVERFLOW_H */
