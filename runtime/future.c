/* Futures: states, results, callbacks, waiters.
 *
 * States: PENDING -> RUNNING -> FINISHED, or PENDING -> CANCELLED. The two
 * transitions out of PENDING are CASes, so a queued task is claimed (by the
 * worker that took its deque entry, or by a waiter that runs it inline) or
 * cancelled exactly once; whoever loses skips it. The deque entry holds a
 * reference of its own and releases it when the entry is taken, whether it
 * ran or was skipped.
 *
 * Completion protocol (future_finish, future_cancel_complete):
 *   1. under the lock: write result/error, store the final state (release),
 *      detach the waiter list and notify each waiter, detach the callbacks;
 *   2. signal done_event (single-future sleepers);
 *   3. without the lock: run the callbacks in the order added.
 * Invariant: a waiter registered under the lock while the state is not
 * final is notified exactly once (step 1); a registration that finds the
 * state final is refused, and the caller sees the future done. Waiters
 * deregister under the same lock, so a notification never touches a waiter
 * that has returned. */
#include "internal.h"
#include "wait.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* How long a blocking wait spins before it sleeps: about the cost of one
   thread wake-up on the development machine (2 cores, KVM), so spinning
   never costs more than the sleep it may save. */
#define WAIT_SPIN_NS 5000

int future_state(const spool_future *f) {
  /* acquire: pairs with the release stores/CAS of the final state, so a
     caller that sees FINISHED sees result and error (visibility rule). */
  return load_acquire(&((spool_future *)f)->state);
}

static bool state_is_done(int s) {
  return s == FUTURE_FINISHED || s == FUTURE_CANCELLED;
}

/* Where a copied argument sharing the future's allocation begins
   (spool_submit_copy): after the struct, aligned for any object. */
#define FUTURE_COPY_OFFSET                                                                         \
  ((sizeof(spool_future) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) *                    \
   _Alignof(max_align_t))

static spool_future *future_alloc(size_t extra) {
  spool_future *f = calloc(1, FUTURE_COPY_OFFSET + extra);
  if (!f) return NULL;
  if (pthread_mutex_init(&f->lock, NULL) != 0) {
    free(f);
    return NULL;
  }
  atomic_init(&f->state, FUTURE_PENDING);
  atomic_init(&f->refs, 1);
  event_init(&f->done_event);
  f->cb_tail = &f->callbacks;
  return f;
}

static worker *task_item_run(work_item *item, worker *self) {
  spool_future *f = container_of(item, spool_future, item);
  if (future_claim(f)) self = future_run_claimed(f, self, self->ex);
  spool_future_release(f); /* the queue's reference */
  return self;
}

int future_new_task(spool_future **out, exec_handle *h, spool_fn fn, void *arg) {
  return future_new_task_copy(out, h, fn, arg, 0, false);
}

int future_new_task_copy(spool_future **out, exec_handle *h, spool_fn fn, const void *arg,
                         size_t size, bool copy) {
  bool inside = copy && size <= FUTURE_INLINE_COPY_MAX;
  spool_future *f = future_alloc(inside ? size : 0);
  if (!f) return SPOOL_ENOMEM;
  f->arg = (void *)arg;
  if (copy && size == 0) {
    f->arg = NULL;
  } else if (inside) {
    f->arg = memcpy((char *)f + FUTURE_COPY_OFFSET, arg, size);
  } else if (copy) {
    /* Freed once the task has returned or was cancelled (future_complete),
       or with the future if it never was. */
    if (!(f->owned_copy = malloc(size))) {
      pthread_mutex_destroy(&f->lock);
      free(f);
      return SPOOL_ENOMEM;
    }
    f->arg = memcpy(f->owned_copy, arg, size);
  }
  f->is_task = true;
  f->fn = fn;
  f->handle = h;
  handle_retain(h);
  f->item.kind = WORK_TASK;
  f->item.run = task_item_run;
  *out = f;
  return SPOOL_OK;
}

int spool_future_create(spool_future **out) {
  if (!out) return SPOOL_EINVAL;
  *out = future_alloc(0);
  return *out ? SPOOL_OK : SPOOL_ENOMEM;
}

void spool_future_retain(spool_future *f) {
  /* relaxed: the caller already holds a reference, so the count cannot
     reach zero concurrently. */
  if (f) fetch_add_relaxed(&f->refs, 1);
}

void spool_future_release(spool_future *f) {
  if (!f) return;
  /* acq_rel: the release orders this thread's uses of f before the free;
     the acquire on the last decrement sees every other thread's uses. */
  if (fetch_sub_acq_rel(&f->refs, 1) != 1) return;
  for (callback_node *c = f->callbacks; c;) { /* never completed */
    callback_node *next = c->next;
    free(c);
    c = next;
  }
  if (f->handle) handle_release(f->handle);
  free(f->owned_copy);
  pthread_mutex_destroy(&f->lock);
  free(f);
}

bool future_claim(spool_future *f) {
  int expected = FUTURE_PENDING;
  /* acq_rel: pairs with the CAS to CANCELLED and other claims: exactly one
     wins; acquire also orders the run after the submitter's writes. */
  return cas_acq_rel(&f->state, &expected, FUTURE_RUNNING);
}

spool_executor *future_executor_raw(const spool_future *f) {
  /* seq_cst: pairs with destroy's store of NULL (see exec_handle). */
  return f->handle ? load_seq_cst(&f->handle->ex) : NULL;
}

/* Steps 1-3 of the completion protocol; `final` is FINISHED or CANCELLED
   (already stored by the cancelling CAS in the latter case). Returns the
   worker the caller is on afterwards: a callback is user code, a switch
   point (it may sync a stolen frame or wait inline and resume on another
   worker's thread), so `completer` is stale after one has run. A caller
   that is not a worker of the future's executor stays one that is not:
   a fiber migrates only among its own executor's workers. */
static worker *future_complete(spool_future *f, int final, int error, void *result,
                               worker *completer) {
  /* The task has returned or will never run: its copied argument is dead. */
  free(f->owned_copy);
  f->owned_copy = NULL;
  pthread_mutex_lock(&f->lock);
  if (final == FUTURE_FINISHED) {
    f->error = error;
    f->result = error ? NULL : result;
    /* release: pairs with the acquire in future_state(). */
    store_release(&f->state, FUTURE_FINISHED);
  }
  future_waiter *w = f->waiters;
  f->waiters = NULL;
  while (w) {
    future_waiter *next = w->next;
    w->next = w->prev = NULL;
    w->notify(w, f, completer);
    w = next;
  }
  callback_node *cbs = f->callbacks;
  f->callbacks = NULL;
  f->cb_tail = &f->callbacks;
  pthread_mutex_unlock(&f->lock);
  event_signal(&f->done_event);
  if (!cbs) return completer;
  while (cbs) {
    callback_node *next = cbs->next;
    cbs->fn(f, cbs->user);
    free(cbs);
    cbs = next;
  }
  return completer ? worker_self() : NULL;
}

static worker *task_cancelled(spool_future *f, spool_executor *ex, worker *self);

worker *future_run_claimed(spool_future *f, worker *self, spool_executor *ex) {
  spool_group *g = f->group; /* alive: f is an unfinished member */
  if (g && group_member_cancelled(g)) {
    /* Claimed, not started: cancelled after all. Only the claimer moves
       the state from RUNNING; release: pairs with future_state(). */
    store_release(&f->state, FUTURE_CANCELLED);
    return task_cancelled(f, ex, self);
  }
  void *result = NULL;
  spool_group *outer = group_scope_enter(self, g);
  frame_watch fw = frame_watch_begin(self);
  int error = f->fn(f->arg, &result);
  self = worker_self(); /* the task may have moved to another worker */
  frame_watch_end(fw, self);
  group_scope_leave(self, outer);
  STAT_ADD(self, tasks_run, 1);
  self = future_complete(f, FUTURE_FINISHED, error, result, self); /* unchanged */
  /* Finished only after the callbacks have run (join.c's invariant). */
  join_count_finished(ex, self);
  if (g) group_member_finished(g); /* the last access to g */
  return self;
}

/* Cancels a task future whose claim the caller has just won by CAS to
   CANCELLED: callbacks, then the join count, on the caller's slot (the one
   it is on after the callbacks). Returns that worker. */
static worker *task_cancelled(spool_future *f, spool_executor *ex, worker *self) {
  spool_group *g = f->group;
  self = future_complete(f, FUTURE_CANCELLED, 0, NULL, self);
  stats_count_cancelled(ex, self);
  join_count_finished(ex, self);
  if (g) group_member_finished(g); /* the last access to g */
  return self;
}

bool future_cancel_claim(spool_future *f) {
  int expected = FUTURE_PENDING;
  /* acq_rel: pairs with future_claim(); exactly one side wins. */
  return cas_acq_rel(&f->state, &expected, FUTURE_CANCELLED);
}

worker *future_cancel_finish(spool_future *f, worker *self) {
  spool_executor *ex = future_executor_raw(f);
  return task_cancelled(f, ex, worker_of(ex, self));
}

worker *future_cancel_from(spool_future *f, worker *self) {
  if (!future_cancel_claim(f)) return self;
  return future_cancel_finish(f, self);
}

bool spool_future_cancel(spool_future *f) {
  if (!f) return false;
  int s = future_state(f);
  if (s == FUTURE_CANCELLED) return true;
  if (s != FUTURE_PENDING) return false;
  if (!f->is_task) {
    int expected = FUTURE_PENDING;
    /* As in future_set(): f stays alive until the completion is over, even
       if a waiter it wakes drops the last other reference. */
    spool_future_retain(f);
    /* acq_rel: pairs with the completion under lock (set_result). */
    pthread_mutex_lock(&f->lock);
    bool won = cas_acq_rel(&f->state, &expected, FUTURE_CANCELLED);
    pthread_mutex_unlock(&f->lock);
    /* The completer is this worker, if any, as in future_set(): a waiting
       task's continuation goes onto its deque (DESIGN.md). */
    if (won) future_complete(f, FUTURE_CANCELLED, 0, NULL, worker_self());
    spool_future_release(f);
    return won || expected == FUTURE_CANCELLED;
  }
  worker *self = worker_self();
  /* Our own reference while the callbacks run, as for a created future:
     the queue's is dropped by a worker that takes the entry after our CAS,
     and a callback may release the caller's (spool.h, "Ownership"). */
  spool_future_retain(f);
  exec_handle *h = f->handle;
  spool_executor *ex = handoff_begin(h);
  bool cancelled = false;
  if (ex) {
    int expected = FUTURE_PENDING;
    /* acq_rel: pairs with future_claim(); exactly one side wins. */
    if (cas_acq_rel(&f->state, &expected, FUTURE_CANCELLED)) {
      task_cancelled(f, ex, worker_of(ex, self));
      cancelled = true;
    } else {
      cancelled = expected == FUTURE_CANCELLED;
    }
  } else {
    cancelled = future_state(f) == FUTURE_CANCELLED;
  }
  handoff_end(h);
  spool_future_release(f);
  return cancelled;
}

bool spool_future_cancelled(const spool_future *f) {
  return f && future_state(f) == FUTURE_CANCELLED;
}
bool spool_future_running(const spool_future *f) {
  return f && future_state(f) == FUTURE_RUNNING;
}
bool spool_future_done(const spool_future *f) {
  return f && state_is_done(future_state(f));
}

spool_executor *spool_future_executor(const spool_future *f) {
  return f ? future_executor_raw(f) : NULL;
}

int spool_future_add_done_callback(spool_future *f, spool_callback cb, void *user) {
  if (!f || !cb) return SPOOL_EINVAL;
  callback_node *n = malloc(sizeof *n);
  if (!n) return SPOOL_ENOMEM;
  n->next = NULL;
  n->fn = cb;
  n->user = user;
  pthread_mutex_lock(&f->lock);
  /* The final state is stored, or detached callbacks taken, under this
     lock: either the completer will run n, or we see the future done. */
  if (!state_is_done(future_state(f)) || f->callbacks || f->cb_tail != &f->callbacks) {
    *f->cb_tail = n;
    f->cb_tail = &n->next;
    n = NULL;
  }
  pthread_mutex_unlock(&f->lock);
  if (n) { /* already done: at once, on this thread */
    cb(f, user);
    free(n);
  }
  return SPOOL_OK;
}

static int future_set(spool_future *f, int error, void *result) {
  /* Completing touches f after its waiters are woken, and a waiter may then
     drop the last other reference (the setter need not hold one): keep f
     alive until the completion is over. */
  spool_future_retain(f);
  pthread_mutex_lock(&f->lock);
  int s = future_state(f);
  bool ok = s == FUTURE_PENDING;
  if (ok) {
    /* relaxed: the lock orders it against other setters and cancel; the
       release store of FINISHED in future_complete() publishes it. */
    store_relaxed(&f->state, FUTURE_RUNNING);
  }
  pthread_mutex_unlock(&f->lock);
  if (ok) future_complete(f, FUTURE_FINISHED, error, result, worker_self());
  spool_future_release(f);
  return ok ? SPOOL_OK : SPOOL_ESTATE;
}

int spool_future_set_result(spool_future *f, void *result) {
  if (!f) return SPOOL_EINVAL;
  if (f->is_task) return SPOOL_ESTATE;
  return future_set(f, 0, result);
}

int spool_future_set_exception(spool_future *f, int error) {
  if (!f) return SPOOL_EINVAL;
  if (f->is_task) return SPOOL_ESTATE;
  if (error == 0) return SPOOL_EINVAL; /* any nonzero code, as a task may return */
  return future_set(f, error, NULL);
}

bool future_add_waiter(spool_future *f, future_waiter *w) {
  pthread_mutex_lock(&f->lock);
  bool added = !state_is_done(future_state(f));
  if (added) {
    w->prev = NULL;
    w->next = f->waiters;
    if (f->waiters) f->waiters->prev = w;
    f->waiters = w;
  }
  pthread_mutex_unlock(&f->lock);
  return added;
}

void future_remove_waiter(spool_future *f, future_waiter *w) {
  pthread_mutex_lock(&f->lock);
  /* A notified waiter was already unlinked by the completer. */
  if (w->prev)
    w->prev->next = w->next;
  else if (f->waiters == w)
    f->waiters = w->next;
  if (w->next) w->next->prev = w->prev;
  w->next = w->prev = NULL;
  pthread_mutex_unlock(&f->lock);
}

bool future_queued_on(const spool_future *f, const worker *self) {
  /* self is a worker of its executor, which is alive while it runs. */
  return self && f->is_task && future_state(f) == FUTURE_PENDING &&
         future_executor_raw(f) == self->ex;
}

worker *future_try_run_inline(spool_future *f, worker *self) {
  if (!future_queued_on(f, self)) return self;
  /* Past the stack limit the caller waits cooperatively instead
     (future_wait_done, wait.c, suspend.c): the task then runs from its
     queue on another stack. */
  if (!stack_has_room_for_inline(self)) return self;
  spool_executor *ex = self->ex;
  /* The entry at the bottom of our own deque: pop it, so a loop of
     submit-then-result does not grow the deque. Only the owner moves
     bottom, so the pop returns this entry or NULL (a thief took it). */
  if (deque_peek_bottom(&self->dq) == &f->item && deque_pop(&self->dq) == &f->item) {
    if (future_claim(f)) {
      STAT_ADD(self, inline_claims, 1);
      self = future_run_claimed(f, self, ex);
    }
    spool_future_release(f); /* the queue's reference, with its entry */
    return self;
  }
  if (future_claim(f)) {
    STAT_ADD(self, inline_claims, 1);
    self = future_run_claimed(f, self, ex);
  }
  return self;
}

#ifdef SPOOL_TEST_HOOKS
/* Tests only (a library built with -DSPOOL_TEST_HOOKS, tests/hardening):
   called where an outside waiter is about to look at the executor, so a
   test can destroy the executor at that moment. */
void (*volatile spool_test_hook_outside_wait)(spool_future *f);
#define TEST_HOOK_OUTSIDE_WAIT(f)                                                                  \
  do {                                                                                             \
    if (spool_test_hook_outside_wait) spool_test_hook_outside_wait(f);                             \
  } while (0)
#else
#define TEST_HOOK_OUTSIDE_WAIT(f) ((void)0)
#endif

/* Whether a thread outside the executor may spin before it sleeps on f.
   The task may finish, and another thread destroy the executor, at any
   moment: the executor is read inside a hand-off, which destroy waits for
   (exec_handle), never through a bare pointer loaded earlier. */
static bool outside_waiter_may_spin(spool_future *f) {
  if (!f->handle) return false; /* a created future: no executor */
  TEST_HOOK_OUTSIDE_WAIT(f);
  spool_executor *ex = handoff_begin(f->handle);
  bool spin = ex && ex->spare_cpus;
  handoff_end(f->handle);
  return spin;
}

int future_wait_done(spool_future *f, int64_t deadline, bool run_inline) {
  if (state_is_done(future_state(f))) return SPOOL_OK;
  worker *self = worker_self();
  /* Any timeout but 0 runs a queued task inline (DESIGN.md, "Blocking
     result() inside a worker", changed 2026-12): it may then exceed a
     finite timeout by the task's duration, rather than time out (or
     deadlock) on work that could simply run. */
  if (run_inline && self) {
    self = future_try_run_inline(f, self);
    if (state_is_done(future_state(f))) return SPOOL_OK;
    /* Still queued: the stack had no room to run it. Blocking the thread
       could deadlock (on one worker nobody else runs it), so the task waits
       as spool_yield_wait does, deadline included: it parks (or waits
       nested at the fiber cap) and the task runs on a fresh stack. Only
       SPOOL_ENOMEM (the deadline's timer could not be queued; nothing
       happened) falls back to blocking. */
    if (future_queued_on(f, self)) {
      int rc = yield_wait_internal(self, &f, 1, deadline, SPOOL_ALL_COMPLETED, NULL);
      if (rc != SPOOL_ENOMEM) return rc;
      self = worker_self();
    }
  }
  if (self) worker_before_block(self);
  /* Spin a little before sleeping: a short task finishes sooner than a
     futex round trip (two thread wake-ups, about 10 us measured on the
     development machine for a submit + result from outside). Only where a
     core is left over: a waiter spinning beside as many workers as cores
     keeps a woken worker off its core for a scheduler tick (4 ms measured
     on 2 cores). */
  if (!self && outside_waiter_may_spin(f)) {
    int64_t spin_until = clock_now_ns() + WAIT_SPIN_NS;
    if (spin_until > deadline) spin_until = deadline;
    for (unsigned i = 1; !state_is_done(future_state(f)); i++) {
      cpu_relax();
      if ((i & 15) == 0 && clock_now_ns() >= spin_until) break;
    }
  }
  for (;;) {
    uint32_t seen = event_prepare(&f->done_event);
    if (state_is_done(future_state(f))) {
      event_cancel(&f->done_event);
      return SPOOL_OK;
    }
    if (!event_wait(&f->done_event, seen, deadline)) {
      return state_is_done(future_state(f)) ? SPOOL_OK : SPOOL_ETIMEDOUT;
    }
  }
}

int future_outcome(const spool_future *f) {
  int s = future_state(f);
  if (s == FUTURE_CANCELLED) return SPOOL_ECANCELLED;
  return f->error;
}

static int timeout_deadline(double timeout, int64_t *deadline) {
  if (isnan(timeout)) return SPOOL_EINVAL;
  *deadline = deadline_after(timeout);
  return SPOOL_OK;
}

/* A timeout of 0 polls: it runs nothing inline. */
bool timeout_runs_inline(double timeout) {
  return timeout != 0;
}

int spool_future_result(spool_future *f, double timeout, void **result) {
  if (result) *result = NULL;
  int64_t deadline;
  if (!f) return SPOOL_EINVAL;
  int rc = timeout_deadline(timeout, &deadline);
  if (rc == SPOOL_OK) rc = future_wait_done(f, deadline, timeout_runs_inline(timeout));
  if (rc != SPOOL_OK) return rc;
  rc = future_outcome(f);
  if (rc == SPOOL_OK && result) *result = f->result;
  return rc;
}

int spool_future_exception(spool_future *f, double timeout) {
  int64_t deadline;
  if (!f) return SPOOL_EINVAL;
  int rc = timeout_deadline(timeout, &deadline);
  if (rc == SPOOL_OK) rc = future_wait_done(f, deadline, timeout_runs_inline(timeout));
  return rc != SPOOL_OK ? rc : future_outcome(f);
}
