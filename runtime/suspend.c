/* spool_yield_until_done: waiting for futures inside a task.
 *
 * Awaited tasks not yet started are claimed and run inline first. If some
 * are still running elsewhere, the worker waits "nested": it runs other
 * work from the deques on its own stack until every future is done. A
 * future_waiter on each pending future wakes the executor's sleeping
 * workers when it completes (so a nested waiter with nothing to run is
 * woken), and is removed under the future's lock before this returns.
 * Outside a worker the call blocks like spool_wait(ALL_COMPLETED), without
 * reordering fs. */
#include "internal.h"

#include <stdlib.h>

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

int spool_yield_until_done(spool_future **fs, size_t n) {
  if (!fs && n) return SPOOL_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!fs[i]) return SPOOL_EINVAL;
  worker *self = worker_self();
  if (!self) {
    for (size_t i = 0; i < n; i++)
      future_wait_done(fs[i], DEADLINE_NONE);
    return SPOOL_OK;
  }
  for (size_t i = 0; i < n; i++)
    self = future_try_run_inline(fs[i], self);
  yield_wait y = {fs, n};
  if (all_done(&y)) return SPOOL_OK;

  future_waiter stack_waiters[16];
  future_waiter *waiters = n <= 16 ? stack_waiters : malloc(n * sizeof *waiters);
  if (!waiters) return SPOOL_ENOMEM;
  park_lot *lot = &self->ex->lot;
  for (size_t i = 0; i < n; i++) {
    waiters[i].notify = notify_lot;
    waiters[i].ctx = lot;
    waiters[i].next = waiters[i].prev = NULL;
    future_add_waiter(fs[i], &waiters[i]);
  }
  STAT_ADD(self, nested_waits, 1);
  self = worker_help_until(self, all_done, &y);
  for (size_t i = 0; i < n; i++)
    future_remove_waiter(fs[i], &waiters[i]);
  if (waiters != stack_waiters) free(waiters);
  return SPOOL_OK;
}

int spool_future_yield_until_done(spool_future *f) {
  if (!f) return SPOOL_EINVAL;
  return spool_yield_until_done(&f, 1);
}
