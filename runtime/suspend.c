/* Parking a task and resuming it: spool_yield_until_done, and the slow path
 * of spool_sync (forkjoin.c).
 *
 * A task runs on its worker's current fiber. To suspend, the worker parks
 * that fiber with the task still on it and continues its loop on a fresh
 * fiber from the pool; resuming switches back to the parked fiber and gives
 * the abandoned loop fiber back to the pool.
 *
 * Protocol (continuation c on the parked fiber's stack, so it lives exactly
 * as long as the suspension):
 *   1. c.remaining = (events awaited) + 1 token; each awaited event gets a
 *      waiter (futures) or a pointer to c (a stolen frame).
 *   2. The worker switches from the task's fiber P to a fresh loop fiber L.
 *   3. L, first thing after the switch, drops the token (continuation_signal).
 *   4. Each awaited event signals c; the signal that brings remaining to 0
 *      pushes c onto the signalling thread's deque (its own worker's, if it
 *      is a worker of the executor; else an injection queue, as a hand-off
 *      that keeps the executor alive until the wake is done).
 *   5. A worker that takes c switches to P, abandoning its loop fiber, which
 *      P gives back to the pool first thing after the switch.
 * Invariants. remaining reaches 0 exactly once, and only after step 3, so P
 * is never resumed before the switch away from it has completed (fiber.h's
 * hand-off rule); the acq_rel decrements order everything each signaller
 * did before the resume (the visibility rule). Nothing touches c after the
 * push in step 4, since P may be running by then.
 *
 * Migration. P may resume on another thread. The switch returns the worker
 * that resumed it, and code after a switch point uses that value; no
 * thread-local is read across a switch (worker_self() is an out-of-line
 * accessor with a compiler barrier).
 *
 * At the cap (max_fibers parked tasks) the task waits nested: the worker
 * runs other work on the task's stack until the futures are done (stats:
 * nested_waits). A fiber with such a nested wait on it is not a plain loop
 * fiber: when its loop resumes a continuation, the fiber is parked as a
 * ready continuation of its own (fiber->data counts the nested waits on
 * it) instead of being abandoned. */
#include "internal.h"

#include <stdlib.h>

/* ---- Continuations ------------------------------------------------------ */

static worker *continuation_resume(work_item *item, worker *self) {
  continuation *c = container_of(item, continuation, item);
  fiber *from = self->current;
  worker_set_current(self, c->parked);
  STAT_ADD(self, resumes, 1);
  if ((uintptr_t)from->data == 0) {
    /* Step 5: a loop fiber with nothing else on it; leave it for good, and
       P gives it back. */
    self->to_release = from;
    fiber_switch_abandon(from, c->parked, self);
  }
  /* A nested wait (worker_help_until) on this fiber holds a task: park the
     fiber as a continuation that is ready at once (only the token), so a
     worker picks it up again and the nested wait goes on. */
  STAT_ADD(self, suspends, 1);
  continuation ready;
  continuation_init(&ready, self->ex, 0);
  ready.parked = from;
  self->post_switch_token = &ready;
  worker *resumer = fiber_switch(from, c->parked, self);
  return worker_after_switch(resumer);
}

void continuation_init(continuation *c, spool_executor *ex, int64_t waits) {
  c->item.kind = WORK_RESUME;
  c->item.run = continuation_resume;
  c->item.next = NULL;
  c->parked = NULL;
  c->ex = ex;
  atomic_init(&c->remaining, waits + 1);
}

void continuation_signal(continuation *c, worker *completer) {
  /* acq_rel: the release publishes this signaller's work to the resumer;
     the acquire of the final decrement sees every other signaller's. */
  int64_t before = fetch_sub_acq_rel(&c->remaining, 1);
#ifdef SPOOL_DEBUG_CHECKS
  /* Each awaited event signals once (coop_wait.c: one resume per wait);
     one more would resume a fiber twice. */
  if (before < 1) spool_misuse("internal error: a continuation was signalled more than it waits");
#endif
  if (before != 1) return;
  spool_executor *ex = c->ex;
  worker *w = worker_of(ex, completer);
  bool answered;
  if (w && deque_push(&w->dq, &c->item, &answered)) {
    /* An answered request may have a thief asleep behind it: fenced. */
    if (answered)
      park_notify(&ex->lot);
    else
      park_notify_relaxed(&ex->lot);
    return;
  }
  /* Not a worker of ex: a hand-off through an injection queue. The task is
     unfinished until c runs, so ex is alive now; the hand-off count keeps
     it alive until the wake below is done. */
  exec_handle *h = ex->handle;
  handoff_begin(h);
  injector_push(&ex->injectors[topology_current_node(ex)], &c->item);
  park_notify(&ex->lot);
  handoff_end(h);
}

/* ---- Switching ---------------------------------------------------------- */

worker *worker_after_switch(worker *self) {
  if (self->to_release) {
    fiber_release(&self->fibers, self->to_release);
    self->to_release = NULL;
  }
  continuation *token = self->post_switch_token;
  if (token) {
    self->post_switch_token = NULL;
    continuation_signal(token, self); /* step 3 */
  }
  return self;
}

fiber *suspend_prepare(worker *self) {
  return fiber_acquire(&self->fibers, worker_loop_entry);
}

void suspend_unprepare(worker *self, fiber *next) {
  fiber_release(&self->fibers, next);
}

worker *suspend_park(worker *self, continuation *c, fiber *next) {
  fiber *parked = self->current;
  c->parked = parked;
  /* Frames this task forked may lie in the private region: let thieves
     (and the worker's own loop, which pops them anyway) see them. */
  worker_before_block(self);
  STAT_ADD(self, suspends, 1);
  self->post_switch_token = c;
  worker_set_current(self, next);
  /* Step 2. Returns on the worker that resumed us (step 5). */
  worker *resumer = fiber_switch(parked, next, self);
  return worker_after_switch(resumer);
}

/* ---- spool_yield_until_done --------------------------------------------- */

typedef struct yield_wait {
  spool_future **fs;
  size_t n;
} yield_wait;

static bool all_done(void *arg) {
  yield_wait *y = arg;
  for (size_t i = 0; i < y->n; i++)
    if (!spool_future_done(y->fs[i])) return false;
  return true;
}

static void notify_lot(future_waiter *w, spool_future *f, worker *completer) {
  (void)f;
  (void)completer;
  park_notify_all(w->ctx);
}

static void notify_continuation(future_waiter *w, spool_future *f, worker *completer) {
  (void)f;
  continuation_signal(w->ctx, completer);
}

/* The fallback: run other work on this stack until every future is done.
   A waiter on each future wakes the executor's sleepers when it completes,
   so a nested waiter with nothing to run is woken. */
static worker *yield_nested(worker *self, yield_wait *y, future_waiter *waiters) {
  park_lot *lot = &self->ex->lot;
  for (size_t i = 0; i < y->n; i++) {
    waiters[i].notify = notify_lot;
    waiters[i].ctx = lot;
    waiters[i].next = waiters[i].prev = NULL;
    future_add_waiter(y->fs[i], &waiters[i]);
  }
  STAT_ADD(self, nested_waits, 1);
  self = worker_help_until(self, all_done, y);
  for (size_t i = 0; i < y->n; i++)
    future_remove_waiter(y->fs[i], &waiters[i]);
  return self;
}

static worker *yield_suspend(worker *self, yield_wait *y, future_waiter *waiters, fiber *next) {
  continuation c;
  continuation_init(&c, self->ex, (int64_t)y->n);
  int64_t refused = 0;
  for (size_t i = 0; i < y->n; i++) {
    waiters[i].notify = notify_continuation;
    waiters[i].ctx = &c;
    waiters[i].next = waiters[i].prev = NULL;
    if (!future_add_waiter(y->fs[i], &waiters[i])) refused++;
  }
  /* Futures already done will not signal: take their counts back. If that
     leaves only the token, nothing is pending and we need not park. */
  /* acq_rel: as in continuation_signal(). */
  if (refused && fetch_sub_acq_rel(&c.remaining, refused) == refused + 1) {
    suspend_unprepare(self, next);
    return self;
  }
  return suspend_park(self, &c, next);
}

int spool_yield_until_done(spool_future **fs, size_t n) {
  if (!fs && n) return SPOOL_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!fs[i]) return SPOOL_EINVAL;
  worker *self = worker_self();
  if (!self) {
    for (size_t i = 0; i < n; i++)
      future_wait_done(fs[i], DEADLINE_NONE, true);
    return SPOOL_OK;
  }
  for (size_t i = 0; i < n; i++)
    self = future_try_run_inline(fs[i], self);
  yield_wait y = {fs, n};
  if (all_done(&y)) return SPOOL_OK;

  future_waiter stack_waiters[16];
  future_waiter *waiters = n <= 16 ? stack_waiters : malloc(n * sizeof *waiters);
  if (!waiters) return SPOOL_ENOMEM;
  fiber *next = suspend_prepare(self);
  if (next)
    self = yield_suspend(self, &y, waiters, next);
  else
    self = yield_nested(self, &y, waiters);
  if (waiters != stack_waiters) free(waiters);
  return SPOOL_OK;
}

int spool_future_yield_until_done(spool_future *f) {
  if (!f) return SPOOL_EINVAL;
  return spool_yield_until_done(&f, 1);
}
