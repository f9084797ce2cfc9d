/* Regression (issue 9, defect 1): user code the runtime calls is a switch
 * point, done callbacks included. A callback that forks a frame which an
 * idle worker steals, and then syncs it, resumes on the thief's thread; the
 * worker loop under it used to go on with the worker it had read before
 * the callbacks ran, so two threads ran as one worker (a debug build
 * asserted in fiber_switch_abandon, a release build crashed).
 *
 * Each round: a task T waits until a done callback is registered on its
 * future; the callback (run by T's worker W when T finishes) forks a frame
 * X, and forks and syncs trivial frames until X has started on another
 * worker (a fork answers a thief's request by publishing, so X gets stolen),
 * then syncs X, which suspends it until the thief finishes X. Checks: each
 * round completes, results are right, spool_join() returns, and at least
 * one callback came back on another worker (the case of the defect). */
#include "harness.h"

typedef struct round_state {
  spool_executor *ex;
  atomic_bool registered, x_started, syncing, done;
  atomic_int migrated;
  uint64_t suspends_before;
  bool ok;
} round_state;

static int trivial(void *arg, void **result) {
  *result = arg;
  return 0;
}

static int frame_x(void *arg, void **result) {
  round_state *r = arg;
  atomic_store(&r->x_started, true);
  /* Stay running until the syncer has parked, so its sync suspends. */
  bool ok = HARNESS_UNTIL(atomic_load(&r->syncing), 10) &&
            HARNESS_UNTIL(harness_suspends(r->ex) > r->suspends_before, 10);
  *result = HARNESS_PTR(ok ? 11 : -1);
  return 0;
}

static void forking_callback(spool_future *f, void *user) {
  (void)f;
  round_state *r = user;
  int before = spool_current_worker();
  r->suspends_before = harness_suspends(r->ex);
  spool_task x;
  spool_fork(&x, frame_x, r);
  double deadline = harness_now() + 10.0 * harness_slowness();
  while (!atomic_load(&r->x_started) && harness_now() < deadline) {
    spool_task t;
    void *v = NULL;
    spool_fork(&t, trivial, HARNESS_PTR(5));
    if (spool_sync(&t, &v) != 0 || v != HARNESS_PTR(5)) r->ok = false;
  }
  if (!atomic_load(&r->x_started)) r->ok = false;
  atomic_store(&r->syncing, true);
  void *xr = NULL;
  if (spool_sync(&x, &xr) != 0 || xr != HARNESS_PTR(11)) r->ok = false;
  if (spool_current_worker() != before) atomic_fetch_add(&r->migrated, 1);
  atomic_store(&r->done, true);
}

static int task_t(void *arg, void **result) {
  round_state *r = arg;
  HARNESS_UNTIL(atomic_load(&r->registered), 10);
  *result = HARNESS_PTR(3);
  return 0;
}

int main(void) {
  spool_executor *ex = harness_executor(2);
  unsigned rounds = 200 * harness_scale(), migrations = 0;
  for (unsigned i = 0; i < rounds; i++) {
    harness_phase("a done callback forks, its frame is stolen, it syncs");
    round_state r = {.ex = ex, .ok = true};
    spool_future *f = harness_submit(ex, task_t, &r);
    CHECK_EQ(spool_future_add_done_callback(f, forking_callback, &r), SPOOL_OK);
    atomic_store(&r.registered, true);
    CHECK_EQ(harness_result(f, 20), 3);
    CHECK(HARNESS_UNTIL(atomic_load(&r.done), 20));
    CHECK_EQ(spool_join(ex, 20), SPOOL_OK);
    if (!CHECK(r.ok)) break;
    migrations += (unsigned)atomic_load(&r.migrated);
    spool_future_release(f);
    /* enough rounds have shown the case; stop early */
    if (migrations >= 20) break;
  }
  printf("callbacks that came back on another worker: %u\n", migrations);
  CHECK(migrations >= 1);
  harness_phase("the executor still works");
  spool_future *g = harness_submit(ex, harness_fib, HARNESS_PTR(20));
  CHECK_EQ(harness_result(g, 30), harness_fib_serial(20));
  spool_future_release(g);
  spool_executor_destroy(ex);
  harness_watchdog_off();
  return harness_report();
}
