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
 * At the cap (max_fibers live fibers) a wait cannot park: it waits nested
 * (struct nested_wait), its worker running other work on the task's own
 * stack until the events are done (stats: nested_waits). The counting is a
 * parked task's (step 1's events + token), with the token held by the
 * running wait: the wait is over when only the token is left.
 *
 * A nested wait's loop may take a continuation and resume another fiber.
 * Its own fiber then holds a waiting task and cannot be abandoned; it is
 * parked with the continuation of its topmost nested wait (fiber->data
 * points at the fiber's nested waits, newest first): the resumer drops the
 * token as in step 3, and the fiber is resumed by step 4 once that wait's
 * events are done, not before.
 *
 * Progress at the cap (issue 9, defect 6). An earlier version parked such a
 * fiber as a continuation ready at once, so that its loop went on: two
 * nested waiters on one worker then resumed each other for ever, each
 * popping the other's ready continuation off the top of the deque, and
 * the work that would complete their waits, lower in the deque or in an
 * injection queue, never ran. Now every resume ends a wait: a parked task
 * resumes because its events are done, a parked nested waiter because its
 * topmost wait's are, and either returns to the task's code. Between two
 * resumes a loop runs queued items, each a task or frame (the program's
 * own progress) or a continuation (a wait ending). So a worker never
 * spins on resumes alone: a run of n resumes ends n waits the program
 * began; and the loop polls the injection queues now and then even while
 * its deque has work (worker.c), so outside work is reached too.
 *
 * Depth at the cap. Each nested wait runs the next item on the same stack,
 * and that item may wait nested in turn: a stack of such waits as deep as
 * the queued work, which overflowed the stack (tests/suspend/cap_depth.c).
 * So a nested wait whose stack is three quarters used (the limit of inline
 * runs, stack_has_room_for_inline) parks it anyway, on a fiber taken
 * beyond the cap, as a resume from a nested loop parks it: through its
 * newest nested wait, resumed when that wait's events are done. That costs
 * one fiber past max_fibers per stack filled with nested waits (counted in
 * the fiber source's live count, so capped takes stay refused meanwhile),
 * taken from the quarter of the mappings the default cap leaves to the
 * program; nothing bounds their number but the waiting work. When no
 * mapping is left the wait goes on nested, noted on the fiber so that an
 * overflow is reported with that cause (and under ThreadSanitizer, whose
 * own mmap for the fiber fails first, the program aborts). The
 * check runs before each item: an item that itself needs more than the
 * last quarter of the stack can still overflow it, as anywhere.
 *
 * What can still wait for ever at the cap: a nested wait whose events
 * depend on work beneath it on its own stack (a task it interrupted, and
 * which can only go on once the wait returns). The runtime cannot tell that
 * from a wait on a created future another thread will complete; spool.h
 * says so, and that raising max_fibers is the fix. */
#include "internal.h"

#include <stdlib.h>

/* ---- Continuations ------------------------------------------------------ */

static worker *continuation_resume(work_item *item, worker *self) {
  continuation *c = container_of(item, continuation, item);
  fiber *from = self->current;
  worker_set_current(self, c->parked);
  STAT_ADD(self, resumes, 1);
  TRACE(self, TRACE_RESUME, 0);
  nested_wait *top = from->data;
  if (!top) {
    trace_abandon(self, from);
    /* Step 5: a loop fiber with nothing else on it; leave it for good, and
       P gives it back. */
    self->to_release = from;
    fiber_switch_abandon(from, c->parked, self);
  }
  /* A nested wait on this fiber holds a task: park the fiber until that
     wait's events are done (file comment, "Progress at the cap"). The
     resumer drops the wait's token, as for any park. */
  STAT_ADD(self, suspends, 1);
  TRACE(self, TRACE_SUSPEND, 0);
  trace_switch_out(self, from);
  top->c.parked = from;
  self->post_switch_token = &top->c;
  worker *resumer = fiber_switch(from, c->parked, self);
  return worker_after_switch(resumer);
}

void continuation_init(continuation *c, spool_executor *ex, int64_t waits) {
  c->item.kind = WORK_RESUME;
  c->item.run = continuation_resume;
  c->item.next = NULL;
  c->parked = NULL;
  c->ex = ex;
  c->nested = false;
  atomic_init(&c->remaining, waits + 1);
}

void continuation_signal(continuation *c, worker *completer) {
  /* Read before the decrement: once it is done, the waiter may return and
     c (on its stack) be gone. */
  spool_executor *ex = c->ex;
  bool nested = c->nested;
  /* acq_rel: the release publishes this signaller's work to the resumer
     (or to the nested wait's acquire load of remaining); the acquire of the
     final decrement sees every other signaller's. */
  int64_t before = fetch_sub_acq_rel(&c->remaining, 1);
#ifdef SPOOL_DEBUG_CHECKS
  /* Each awaited event signals once (coop_wait.c: one resume per wait);
     one more would resume a fiber twice. */
  if (before < 1) spool_misuse("internal error: a continuation was signalled more than it waits");
#endif
  if (before == 2 && nested) {
    /* Only the token left: a running nested wait is over, and its loop may
       be asleep in worker_idle(). The epoch bump (seq_cst) pairs with the
       acquire load of the epoch in park_prepare(), before the sleeper's
       re-check. ex is alive: a future's notifier runs under the future's
       lock, which the wait takes to deregister before it returns; a frame's
       runner and a token's dropper are workers of ex. (Also reached when a
       parked nested waiter's token is dropped with one event left: a
       spurious wake, once per such park.) */
    park_notify_all(&ex->lot);
    return;
  }
  if (before != 1) return;
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

/* ---- Nested waits (at the cap) ------------------------------------------ */

void nested_wait_init(nested_wait *nw, spool_executor *ex, int64_t events) {
  continuation_init(&nw->c, ex, events);
  nw->c.nested = true;
  nw->below = NULL;
}

static bool nested_wait_over(void *arg) {
  nested_wait *nw = arg;
  /* acquire: pairs with the acq_rel decrements in continuation_signal():
     everything the signallers did is seen once only the token is left (1),
     or none of it when the fiber was parked and resumed through it (0). */
  return load_acquire(&nw->c.remaining) <= 1;
}

worker *nested_wait_run(worker *self, nested_wait *nw) {
  /* The fiber is the same object wherever it migrates: its list of nested
     waits travels with it (continuation_resume() parks it by the newest). */
  fiber *me = self->current;
  nw->below = me->data;
  me->data = nw;
  bool unparked = false; /* counted in me->unparked_waits */
  STAT_ADD(self, nested_waits, 1);
  while (!nested_wait_over(nw)) {
    /* Depth at the cap (file comment): with three quarters of the stack
       used, park it beyond the cap rather than run more on it. nw is the
       newest nested wait on this fiber (any newer one has returned), so
       the park is the one continuation_resume() makes, through nw. */
    if (me != &self->thread_fiber && !stack_has_room_for_inline(self)) {
      /* (A thread's own stack, an initializer's, is never parked.) */
      fiber *next = fiber_acquire_beyond_cap(&self->fibers, worker_loop_entry);
      if (next) {
        self = suspend_park(self, &nw->c, next);
        continue; /* resumed once nw's events are done: over */
      }
      /* No mapping left: go on nested. Noted on the fiber, so that an
         overflow is reported with this cause rather than the stack size
         alone. relaxed: only this fiber's thread and its signal handler
         read it (fiber.h). */
      if (!unparked) {
        unparked = true;
        atomic_fetch_add_explicit(&me->unparked_waits, 1, memory_order_relaxed);
      }
    }
    self = worker_help_once(self, nested_wait_over, nw);
  }
  if (unparked) /* relaxed: as the increment above */
    atomic_fetch_sub_explicit(&me->unparked_waits, 1, memory_order_relaxed);
  me->data = nw->below;
  return self;
}

/* ---- Switching ---------------------------------------------------------- */

worker *worker_after_switch(worker *self) {
  trace_switch_in(self, self->current);
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
  /* The initializer runs on the thread's own stack, which must never be
     parked (it could resume on another thread): it waits nested. */
  if (self->current == &self->thread_fiber) return NULL;
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
  TRACE(self, TRACE_SUSPEND, 0);
  trace_switch_out(self, parked);
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

static void notify_continuation(future_waiter *w, spool_future *f, worker *completer) {
  (void)f;
  continuation_signal(w->ctx, completer);
}

/* Registers a waiter signalling c on each future; returns how many were
   refused (already done), which will not signal. */
static int64_t yield_register(yield_wait *y, future_waiter *waiters, continuation *c) {
  int64_t refused = 0;
  for (size_t i = 0; i < y->n; i++) {
    waiters[i].notify = notify_continuation;
    waiters[i].ctx = c;
    waiters[i].next = waiters[i].prev = NULL;
    if (!future_add_waiter(y->fs[i], &waiters[i])) refused++;
  }
  return refused;
}

/* Takes back the counts of futures that were already done; true if that
   leaves only the token: nothing is pending, no need to wait. */
static bool yield_settled(continuation *c, int64_t refused) {
  /* acq_rel: as in continuation_signal(). */
  return refused && fetch_sub_acq_rel(&c->remaining, refused) == refused + 1;
}

/* At the cap: a nested wait. */
static worker *yield_nested(worker *self, yield_wait *y, future_waiter *waiters) {
  nested_wait nw;
  nested_wait_init(&nw, self->ex, (int64_t)y->n);
  if (!yield_settled(&nw.c, yield_register(y, waiters, &nw.c))) self = nested_wait_run(self, &nw);
  /* Under each future's lock: a notifier still inside continuation_signal()
     (it wakes the lot after its decrement) has left it before nw goes. */
  for (size_t i = 0; i < y->n; i++)
    future_remove_waiter(y->fs[i], &waiters[i]);
  return self;
}

static worker *yield_suspend(worker *self, yield_wait *y, future_waiter *waiters, fiber *next) {
  continuation c;
  continuation_init(&c, self->ex, (int64_t)y->n);
  if (yield_settled(&c, yield_register(y, waiters, &c))) {
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
  /* Past the stack limit nothing runs inline (future_try_run_inline): the
     task parks, and the awaited tasks run from the deque on a fresh stack. */
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
