/* The stack-overflow handler: a clear message instead of a bare SIGSEGV.
 *
 * A task that overflows its fiber stack touches the guard page below it.
 * The handler (SIGSEGV and SIGBUS, on an alternate signal stack, since the
 * faulting stack has no room left) recognises a fault inside the guard page
 * of the fiber running on the faulting thread, writes one line to stderr
 * naming the problem and the fix, and aborts. Every other fault goes to the
 * handler installed before it, as if spool were not there.
 *
 * The running fiber is known through a thread-local that fiber.c updates
 * after every switch (overflow_note_running()); the handler only reads it,
 * so it stays async-signal-safe.
 *
 * Turning it off is not calling overflow_install(). */
#ifndef SPOOL_OVERFLOW_H
#define SPOOL_OVERFLOW_H

struct fiber;

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

/* Records that `f` now runs on the calling thread (NULL: nothing does).
   fiber.c calls it after every switch, on the side that resumes. */
void overflow_note_running(const struct fiber *f);

#endif /* SPOOL_OVERFLOW_H */
