/* Cooperative waiting with a condition and a deadline: spool_yield_wait,
 * and the core that other cooperative waits (task groups' join) reuse.
 *
 * The problem. A task waits until a monotone condition holds (FIRST_
 * COMPLETED, ...) or a deadline passes, without holding its worker. Several
 * parties may find that it should resume: each event source (a future's
 * completion), the timer, and the waiter itself (the condition may already
 * hold once it has registered). The task must be resumed exactly once, and
 * none of them may touch the wait's memory (on the task's stack) after the
 * task has returned.
 *
 * The protocol (coop_wait w on the parked fiber's stack):
 *   1. begin: continuation w.c with one event (the resume) plus the park
 *      token (suspend.c); a loop fiber to continue on; the timer queued on
 *      the executor's heap (timer.c) when the deadline is finite.
 *   2. The caller registers each event source; a source calls
 *      coop_wait_check() under a lock of its own (a future's lock).
 *   3. block: the waiter checks the condition itself; then it parks (or, at
 *      the fiber cap, runs other work nested) unless it is resumed already.
 *   4. A check: increment `checks` (acq_rel), evaluate the condition; if it
 *      holds, resume. The timer's fire (under the heap's lock): resume.
 *      Resume = CAS `resumed` 0 -> 1; only the winner signals w.c (or, for
 *      a nested wait, wakes the sleeping workers).
 *   5. After the task continues: cancel the timer (under the heap's lock),
 *      then the caller unregisters every source (under its lock).
 *
 * Invariants and why they hold.
 *   Exactly once: `resumed` goes from 0 to 1 once (CAS); the winner is the
 *   only signaller of w.c's single event, so w.c's count (event + token)
 *   reaches 0 once, after the token is dropped, and the continuation is
 *   pushed once (suspend.c). A waiter that wins the CAS itself, or finds it
 *   already won before parking, does not park: the token is then never
 *   dropped and nobody pushes w.c.
 *   No lost resume: the condition depends on states that each source stores
 *   before its check; the checks' increments of `checks` are read-modify-
 *   writes of one variable, hence totally ordered, each acquiring the
 *   previous one's release. The last check in that order therefore sees
 *   every state stored before any check, and the waiter's own check (after
 *   every registration; a source that refused registration was done before
 *   it) counts as one. So once the condition holds, some check sees it.
 *   A late check or timer that loses the CAS does nothing, and it runs
 *   under a lock (the source's, the heap's) that step 5 takes before the
 *   wait's memory goes: nothing touches w after the task has returned.
 *   Where the continuation goes: the winner signals with its own worker, so
 *   the task resumes on the deque of the worker that completed the future
 *   that satisfied the condition, or of the worker that fired the timer
 *   (an injection queue when the completer is not a worker of the
 *   executor).
 *
 * The stress test tests/suspend/yield_wait_race.c races completions with
 * timers at the same instant and counts resumes. */
#include "wait.h"

#include <stdlib.h>

static void coop_wait_resume(coop_wait *w, worker *by) {
  int expected = 0;
  /* acq_rel: pairs with the other CASes on `resumed` (exactly one wins) and
     with the waiter's acquire load in coop_wait_block()/coop_resumed(). */
  if (!cas_acq_rel(&w->resumed, &expected, 1)) return;
  /* For a nested wait the signal leaves only the token and wakes the
     sleeping workers, so the waiter's nested loop sees it (suspend.c). */
  continuation_signal(&w->nw.c, by);
}

static void coop_wait_fire(timer *t, worker *self) {
  coop_wait_resume(container_of(t, coop_wait, t), self);
}

void coop_wait_check(coop_wait *w, worker *completer) {
  /* acq_rel: the chain of checks (file comment, "no lost resume"): pairs
     with the previous and the next increment. */
  fetch_add_acq_rel(&w->checks, 1);
  if (w->ready(w->arg)) coop_wait_resume(w, completer);
}

int coop_wait_begin(coop_wait *w, worker *self, bool (*ready)(void *), void *arg,
                    int64_t deadline) {
  w->ready = ready;
  w->arg = arg;
  w->ex = self->ex;
  atomic_init(&w->checks, 0);
  atomic_init(&w->resumed, 0);
  /* Before the timer is queued: a fire reads them. */
  w->next = suspend_prepare(self);
  if (w->next)
    continuation_init(&w->nw.c, self->ex, 1);
  else
    nested_wait_init(&w->nw, self->ex, 1);
  w->timed = deadline != DEADLINE_NONE;
  if (w->timed) {
    w->t.deadline = deadline;
    w->t.fire = coop_wait_fire;
    int r = timer_add(&self->ex->timers, &w->t);
    if (r < 0) {
      if (w->next) suspend_unprepare(self, w->next);
      return SPOOL_ENOMEM;
    }
    /* A new earliest deadline: every sleeping worker re-reads it (timer.c). */
    if (r > 0) park_notify_every(&self->ex->lot);
  }
  return SPOOL_OK;
}

static bool coop_resumed(void *arg) {
  coop_wait *w = arg;
  /* acquire: pairs with the winning CAS in coop_wait_resume(). */
  return load_acquire(&w->resumed) != 0;
}

worker *coop_wait_block(coop_wait *w, worker *self) {
  coop_wait_check(w, self); /* the waiter's own check (step 3) */
  if (coop_resumed(w)) {
    /* Resumed before parking: by us, or by a source whose signal found the
       token still held; either way nobody pushes w->c. */
    if (w->next) suspend_unprepare(self, w->next);
  } else if (w->next) {
    self = suspend_park(self, &w->nw.c, w->next);
  } else {
    /* At the fiber cap: run other work on this stack until resumed (the
       resume's signal leaves only the token: nested_wait_run's end). */
    self = nested_wait_run(self, &w->nw);
  }
  if (w->timed) timer_cancel(&w->ex->timers, &w->t);
  return self;
}

/* ---- spool_yield_wait --------------------------------------------------- */

typedef struct futures_wait {
  spool_future **fs;
  size_t n;
  spool_return_when when;
} futures_wait;

static bool futures_ready(void *arg) {
  futures_wait *fw = arg;
  return wait_condition(fw->fs, fw->n, fw->when);
}

/* Under the completing future's lock (future.c), so step 5's
   future_remove_waiter() waits for it. */
static void notify_coop(future_waiter *fwaiter, spool_future *f, worker *completer) {
  (void)f;
  coop_wait_check(fwaiter->ctx, completer);
}

int yield_wait_internal(worker *self, spool_future **fs, size_t n, int64_t deadline,
                        spool_return_when when, size_t *ndone) {
  wait_arrays a;
  if (!wait_arrays_init(&a, n)) return SPOOL_ENOMEM;
  future_waiter *waiters = a.waiters;
  int rc = SPOOL_OK;
  self = wait_run_inline(self, fs, n, when);
  if (!wait_condition(fs, n, when)) {
    if (deadline != DEADLINE_NONE && clock_now_ns() >= deadline) {
      rc = SPOOL_ETIMEDOUT; /* expired while tasks ran inline */
    } else {
      futures_wait fw = {fs, n, when};
      coop_wait w;
      rc = coop_wait_begin(&w, self, futures_ready, &fw, deadline);
      if (rc == SPOOL_OK) {
        for (size_t i = 0; i < n; i++) {
          waiters[i].notify = notify_coop;
          waiters[i].ctx = &w;
          waiters[i].next = waiters[i].prev = NULL;
          future_add_waiter(fs[i], &waiters[i]); /* refused: done; block checks */
        }
        self = coop_wait_block(&w, self);
        for (size_t i = 0; i < n; i++)
          future_remove_waiter(fs[i], &waiters[i]);
        rc = wait_condition(fs, n, when) ? SPOOL_OK : SPOOL_ETIMEDOUT;
      }
    }
  }
  if (rc != SPOOL_ENOMEM) {
    size_t d = wait_partition(fs, n, a.scratch, a.is_done);
    if (ndone) *ndone = d;
  }
  wait_arrays_free(&a);
  return rc;
}

int spool_yield_wait(spool_future **fs, size_t n, double timeout, spool_return_when when,
                     size_t *ndone) {
  if (ndone) *ndone = 0;
  if (!wait_args_valid(fs, n, timeout, when)) return SPOOL_EINVAL;
  worker *self = worker_self();
  /* Outside a worker, with nothing to wait for, or a poll: spool_wait (a
     timeout of 0 runs nothing inline and never suspends). */
  if (!self || n == 0 || timeout == 0) return spool_wait(fs, n, timeout, when, ndone);
  return yield_wait_internal(self, fs, n, deadline_after(timeout), when, ndone);
}
