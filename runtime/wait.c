/* Waiting on many futures: spool_wait and the as_completed iterator.
 *
 * Both register a future_waiter on each future that is not done yet (under
 * the future's lock, future.c) and sleep on one event of their own; the
 * completer notifies under the future's lock, and the waiting thread
 * deregisters under the same lock before its event goes out of scope, so a
 * notification never reaches a waiter that has returned. */
#include "wait.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool done_now(spool_future *f) {
  return spool_future_done(f);
}

static bool finished_with_error(spool_future *f) {
  return future_state(f) == FUTURE_FINISHED && f->error != 0;
}

bool wait_condition(spool_future **fs, size_t n, spool_return_when when) {
  size_t done = 0;
  for (size_t i = 0; i < n; i++) {
    if (!done_now(fs[i])) continue;
    done++;
    if (when == SPOOL_FIRST_COMPLETED) return true;
    if (when == SPOOL_FIRST_EXCEPTION && finished_with_error(fs[i])) return true;
  }
  return done == n;
}

size_t wait_partition(spool_future **fs, size_t n, spool_future **scratch, bool *is_done) {
  /* A stable partition into done / not done, from one snapshot. */
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    is_done[i] = done_now(fs[i]);
  for (size_t i = 0; i < n; i++)
    if (is_done[i]) scratch[k++] = fs[i];
  size_t d = k;
  for (size_t i = 0; i < n; i++)
    if (!is_done[i]) scratch[k++] = fs[i];
  memcpy(fs, scratch, n * sizeof *fs);
  return d;
}

worker *wait_run_inline(worker *self, spool_future **fs, size_t n, spool_return_when when) {
  /* Run queued tasks inline instead of blocking on them (DESIGN.md,
     "Blocking result() inside a worker", changed 2026-12): one at a time, in
     array order, while the condition does not hold. */
  for (size_t i = 0; i < n && !wait_condition(fs, n, when); i++)
    self = future_try_run_inline(fs[i], self);
  return self;
}

/* Whether a wait on `self` must wait cooperatively: some awaited task is
   still queued after wait_run_inline(), so the stack had no room to run it
   (stack_has_room_for_inline). Blocking the thread could then deadlock (on
   one worker nobody else would run it). */
static bool any_queued_on(spool_future **fs, size_t n, const worker *self) {
  for (size_t i = 0; i < n; i++)
    if (future_queued_on(fs[i], self)) return true;
  return false;
}

bool wait_arrays_init(wait_arrays *a, size_t n) {
  if (n <= WAIT_STACK_FUTURES) {
    a->waiters = a->stack_waiters;
    a->scratch = a->stack_scratch;
    a->is_done = a->stack_done;
    return true;
  }
  a->waiters = malloc(n * sizeof *a->waiters);
  a->scratch = malloc(n * sizeof *a->scratch);
  a->is_done = malloc(n * sizeof *a->is_done);
  if (a->waiters && a->scratch && a->is_done) return true;
  wait_arrays_free(a);
  return false;
}

void wait_arrays_free(wait_arrays *a) {
  if (a->waiters == a->stack_waiters) return;
  free(a->waiters);
  free(a->scratch);
  free(a->is_done);
}

static void notify_event(future_waiter *w, spool_future *f, worker *completer) {
  (void)f;
  (void)completer;
  event_signal(w->ctx);
}

bool wait_args_valid(spool_future **fs, size_t n, double timeout, spool_return_when when) {
  if ((!fs && n) || isnan(timeout)) return false;
  if (when != SPOOL_ALL_COMPLETED && when != SPOOL_FIRST_COMPLETED && when != SPOOL_FIRST_EXCEPTION)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!fs[i]) return false;
  return true;
}

int spool_wait(spool_future **fs, size_t n, double timeout, spool_return_when when, size_t *ndone) {
  if (ndone) *ndone = 0;
  if (!wait_args_valid(fs, n, timeout, when)) return SPOOL_EINVAL;
  if (n == 0) return SPOOL_OK;

  int64_t deadline = deadline_after(timeout);
  worker *self = worker_self();
  if (self && timeout_runs_inline(timeout)) {
    self = wait_run_inline(self, fs, n, when);
    /* Past the stack limit: wait as spool_yield_wait does (it parks the
       task, and the queued tasks run on a fresh stack), deadline included.
       On SPOOL_ENOMEM nothing happened: block as below. */
    if (!wait_condition(fs, n, when) && any_queued_on(fs, n, self)) {
      int rc = yield_wait_internal(self, fs, n, deadline, when, ndone);
      if (rc != SPOOL_ENOMEM) return rc;
      self = worker_self();
    }
  }

  wait_arrays a;
  if (!wait_arrays_init(&a, n)) return SPOOL_ENOMEM;
  future_waiter *waiters = a.waiters;

  int rc = SPOOL_OK;
  if (!wait_condition(fs, n, when)) {
    event ev;
    event_init(&ev);
    for (size_t i = 0; i < n; i++) {
      waiters[i].notify = notify_event;
      waiters[i].ctx = &ev;
      waiters[i].next = waiters[i].prev = NULL;
      future_add_waiter(fs[i], &waiters[i]);
    }
    if (self) worker_before_block(self);
    for (;;) {
      uint32_t seen = event_prepare(&ev);
      if (wait_condition(fs, n, when)) {
        event_cancel(&ev);
        break;
      }
      if (!event_wait(&ev, seen, deadline) && !wait_condition(fs, n, when)) {
        rc = SPOOL_ETIMEDOUT;
        break;
      }
    }
    for (size_t i = 0; i < n; i++)
      future_remove_waiter(fs[i], &waiters[i]);
  }

  size_t d = wait_partition(fs, n, a.scratch, a.is_done);
  if (ndone) *ndone = d;
  wait_arrays_free(&a);
  return rc;
}

/* ---- as_completed ------------------------------------------------------- */

struct spool_as_completed {
  size_t n;          /* distinct futures */
  spool_future **fs; /* borrowed */
  future_waiter *waiters;
  event ev;
  pthread_mutex_t lock;
  size_t *ready;     /* ring of indices in completion order; under lock */
  size_t head, tail; /* under lock */
  size_t returned;   /* owner (the iterating thread) only */
};

static void notify_ready(future_waiter *w, spool_future *f, worker *completer) {
  (void)f;
  (void)completer;
  spool_as_completed *it = w->ctx;
  pthread_mutex_lock(&it->lock);
  it->ready[it->tail++] = (size_t)(w - it->waiters);
  pthread_mutex_unlock(&it->lock);
  event_signal(&it->ev);
}

static bool as_completed_ready(spool_as_completed *it) {
  pthread_mutex_lock(&it->lock);
  bool have = it->head < it->tail;
  pthread_mutex_unlock(&it->lock);
  return have;
}

typedef struct ptr_index {
  spool_future *f;
  size_t index;
} ptr_index;

static int ptr_index_cmp(const void *a, const void *b) {
  const ptr_index *x = a, *y = b;
  if (x->f != y->f) return (uintptr_t)x->f < (uintptr_t)y->f ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

int spool_as_completed_begin(spool_as_completed **out, spool_future **fs, size_t n) {
  if (!out) return SPOOL_EINVAL;
  *out = NULL;
  if (!fs && n) return SPOOL_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!fs[i]) return SPOOL_EINVAL;

  spool_as_completed *it = calloc(1, sizeof *it);
  ptr_index *sorted = n ? malloc(n * sizeof *sorted) : NULL;
  bool *keep = n ? calloc(n, sizeof *keep) : NULL;
  if (!it || (n && (!sorted || !keep))) goto nomem;
  /* Duplicates are returned once: keep each future's first occurrence,
     in the caller's order. */
  for (size_t i = 0; i < n; i++)
    sorted[i] = (ptr_index){fs[i], i};
  if (n) qsort(sorted, n, sizeof *sorted, ptr_index_cmp);
  for (size_t i = 0; i < n; i++)
    if (i == 0 || sorted[i].f != sorted[i - 1].f) keep[sorted[i].index] = true;
  size_t distinct = 0;
  for (size_t i = 0; i < n; i++)
    distinct += keep[i];

  it->fs = distinct ? malloc(distinct * sizeof *it->fs) : NULL;
  it->waiters = distinct ? calloc(distinct, sizeof *it->waiters) : NULL;
  it->ready = distinct ? malloc(distinct * sizeof *it->ready) : NULL;
  if (distinct && (!it->fs || !it->waiters || !it->ready)) goto nomem;
  for (size_t i = 0, k = 0; i < n; i++)
    if (keep[i]) it->fs[k++] = fs[i];
  it->n = distinct;
  free(sorted);
  free(keep);
  sorted = NULL;
  keep = NULL;

  event_init(&it->ev);
  pthread_mutex_init(&it->lock, NULL);
  for (size_t i = 0; i < distinct; i++) {
    it->waiters[i].notify = notify_ready;
    it->waiters[i].ctx = it;
    if (!future_add_waiter(it->fs[i], &it->waiters[i])) {
      pthread_mutex_lock(&it->lock);
      it->ready[it->tail++] = i;
      pthread_mutex_unlock(&it->lock);
    }
  }
  *out = it;
  return SPOOL_OK;

nomem:
  free(sorted);
  free(keep);
  if (it) {
    free(it->fs);
    free(it->waiters);
    free(it->ready);
    free(it);
  }
  return SPOOL_ENOMEM;
}

/* Past the stack limit (a queued future could not run inline): waits as
   spool_yield_wait(FIRST_COMPLETED) does on the futures not done yet, until
   one is done or the deadline. A future that completed is queued in the
   ring by its notifier (under its lock, possibly a moment after the wait
   saw it done: the caller's event wait covers that). On SPOOL_ENOMEM
   nothing happened, and the caller blocks as before. */
static void as_completed_wait_cooperatively(spool_as_completed *it, worker *self,
                                            int64_t deadline) {
  spool_future *stack_pending[16];
  spool_future **pending = it->n <= 16 ? stack_pending : malloc(it->n * sizeof *pending);
  if (!pending) return;
  size_t k = 0;
  for (size_t i = 0; i < it->n; i++)
    if (!spool_future_done(it->fs[i])) pending[k++] = it->fs[i];
  if (k) yield_wait_internal(self, pending, k, deadline, SPOOL_FIRST_COMPLETED, NULL);
  if (pending != stack_pending) free(pending);
}

int spool_as_completed_next(spool_as_completed *it, double timeout, spool_future **next) {
  if (next) *next = NULL;
  if (!it || !next || isnan(timeout)) return SPOOL_EINVAL;
  if (it->returned == it->n) return SPOOL_EEXHAUSTED;
  int64_t deadline = deadline_after(timeout);
  bool blocked = false;
  worker *self = worker_self();
  if (self && timeout_runs_inline(timeout)) {
    /* As spool_wait does: the iterator's queued futures run inline, one at
       a time in array order, until one is ready. A future already returned
       is done, so it is never run again. */
    for (size_t i = 0; i < it->n && !as_completed_ready(it); i++)
      self = future_try_run_inline(it->fs[i], self);
    if (!as_completed_ready(it) && any_queued_on(it->fs, it->n, self))
      as_completed_wait_cooperatively(it, self, deadline);
  }
  for (;;) {
    uint32_t seen = event_prepare(&it->ev);
    pthread_mutex_lock(&it->lock);
    bool have = it->head < it->tail;
    size_t index = have ? it->ready[it->head++] : 0;
    pthread_mutex_unlock(&it->lock);
    if (have) {
      event_cancel(&it->ev);
      it->returned++;
      *next = it->fs[index];
      return SPOOL_OK;
    }
    if (!blocked) {
      self = worker_self();
      if (self) worker_before_block(self);
      blocked = true;
    }
    if (!event_wait(&it->ev, seen, deadline)) {
      pthread_mutex_lock(&it->lock);
      have = it->head < it->tail;
      pthread_mutex_unlock(&it->lock);
      if (!have) return SPOOL_ETIMEDOUT;
    }
  }
}

void spool_as_completed_end(spool_as_completed *it) {
  if (!it) return;
  for (size_t i = 0; i < it->n; i++)
    future_remove_waiter(it->fs[i], &it->waiters[i]);
  pthread_mutex_destroy(&it->lock);
  free(it->fs);
  free(it->waiters);
  free(it->ready);
  free(it);
}
