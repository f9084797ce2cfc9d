/* Waiting internals shared by wait.c (spool_wait, as_completed) and
 * coop_wait.c (spool_yield_wait), and the cooperative wait that other
 * cooperative joins (task groups) build on. */
#ifndef SPOOL_WAIT_H
#define SPOOL_WAIT_H

#include "internal.h"
#include "timer.h"

/* The argument checks spool_wait() and spool_yield_wait() share: false
   (SPOOL_EINVAL) for NULL fs with n > 0, a NULL entry, a NaN timeout or a
   bad `when`. */
bool wait_args_valid(spool_future **fs, size_t n, double timeout, spool_return_when when);
/* Whether `when` holds for fs[0..n) now (acquire loads of the states). */
bool wait_condition(spool_future **fs, size_t n, spool_return_when when);
/* On worker `self`: runs queued awaited tasks inline, one at a time in array
   order, while `when` does not hold. Returns the worker afterwards. */
worker *wait_run_inline(worker *self, spool_future **fs, size_t n, spool_return_when when);
/* Reorders fs stably, done futures first, from one snapshot; `scratch` and
   `is_done` hold n entries each. Returns the number done. */
size_t wait_partition(spool_future **fs, size_t n, spool_future **scratch, bool *is_done);

/* A wait's per-future arrays: on the stack for up to 16 futures (no
   allocation in the common case), allocated beyond. */
#define WAIT_STACK_FUTURES 16
typedef struct wait_arrays {
  future_waiter *waiters;
  spool_future **scratch; /* wait_partition()'s */
  bool *is_done;
  future_waiter stack_waiters[WAIT_STACK_FUTURES];
  spool_future *stack_scratch[WAIT_STACK_FUTURES];
  bool stack_done[WAIT_STACK_FUTURES];
} wait_arrays;
/* false when n > 16 and the memory cannot be allocated (nothing to free). */
bool wait_arrays_init(wait_arrays *a, size_t n);
void wait_arrays_free(wait_arrays *a);

/* ---- Cooperative wait: suspend a task until a condition or a deadline ---- */

/* A task on a worker waits, without holding the worker, until `ready(arg)`
 * holds or the deadline passes. The condition must be monotone (once true,
 * it stays true). Whoever may have made it true (an event source) calls
 * coop_wait_check(); a timer fires at the deadline. See coop_wait.c for the
 * protocol. Use:
 *
 *   coop_wait w;
 *   rc = coop_wait_begin(&w, self, ready, arg, deadline);  // SPOOL_ENOMEM
 *   register the event sources, each calling coop_wait_check(&w, completer)
 *     under a lock of its own;
 *   self = coop_wait_block(&w, self);    // returns when ready or timed out
 *   unregister the sources, each under the same lock as its check;
 *   ready(arg) tells which.
 *
 * The struct lives on the waiting task's stack. */
typedef struct coop_wait {
  /* nw.c: the resume (one event) plus the park token. At the fiber cap
     (next NULL) it is a nested wait (suspend.c): the fiber is marked as
     holding it, so a continuation resumed on top of it parks the fiber
     until the resume instead of abandoning it. */
  nested_wait nw;
  bool (*ready)(void *arg);
  void *arg;
  spool_executor *ex;
  fiber *next; /* the loop fiber to continue on; NULL: wait nested */
  timer t;     /* queued when the deadline is finite */
  bool timed;  /* t was queued */
  /* Every check increments it (acq_rel) before it evaluates `ready`, so the
     checks form one chain and the last one sees every state change that
     preceded any check (coop_wait.c). */
  _Atomic uint32_t checks;
  /* 0 until the one resume: set by a CAS from 0, by a check that found the
     condition true, by the timer, or by the waiter itself. */
  _Atomic int resumed;
} coop_wait;

/* Prepares w for the task running on `self` (a worker): takes a fiber to
   continue on (none at the max_fibers cap: the wait is then nested) and
   queues the timer. SPOOL_ENOMEM if the timer cannot be queued (nothing to
   undo). */
int coop_wait_begin(coop_wait *w, worker *self, bool (*ready)(void *), void *arg, int64_t deadline);
/* An event source: the condition may now hold. `completer` is the calling
   thread's worker, or NULL. */
void coop_wait_check(coop_wait *w, worker *completer);
/* After every source is registered: returns once the condition held or the
   deadline passed, on the worker that resumed the task. The timer is gone
   when it returns; the sources are the caller's to unregister. */
worker *coop_wait_block(coop_wait *w, worker *self);

/* spool_yield_wait on worker `self` with an absolute deadline (DEADLINE_NONE:
   forever); the arguments are already validated, n > 0, and the deadline is
   not a poll. The entry point for other cooperative waits on futures. */
int yield_wait_internal(worker *self, spool_future **fs, size_t n, int64_t deadline,
                        spool_return_when when, size_t *ndone);

#endif /* SPOOL_WAIT_H */
