/* A new earliest deadline reaches an idle worker even when the worker its
 * wake-up reached finds work instead.
 *
 * Idle workers sleep no longer than the earliest timer; a timer that
 * becomes the earliest must therefore wake sleepers so that they re-read
 * it. Waking one sleeper is not enough: that one may find queued work and
 * run it, and the workers still asleep went to sleep before the timer
 * existed, with no deadline, so nobody fires it while they sleep (found by
 * review; the timer fired only when a busy worker next looked for work).
 *
 * Each round, on WORKERS workers that are all asleep: a task D submits
 * WORKERS - 1 hogs, which spin until D says so, then waits on a future
 * nobody completes with spool_yield_wait(..., 10 ms). With one worker left
 * idle, that worker must fire D's timer; D then returns SPOOL_ETIMEDOUT and
 * releases the hogs. If the idle worker is left asleep without the
 * deadline, every awake worker spins in a hog waiting for D and the round
 * never ends: the watchdog fails the test. (How many sleepers the hogs'
 * own pushes wake varies, so a round catches the defect only when the
 * awake workers all found hogs; ROUNDS rounds catch it with near
 * certainty: 20 of 20 failed before the fix.) */
#include "harness.h"

#define WORKERS 6
#define HOGS    (WORKERS - 1)
#define ROUNDS  (20 * harness_scale())

/* release/acquire: D's store after its wait returned; the hogs' loads. No
   data is published through it but the permission to return. */
static _Atomic int released;
static spool_future *never;
static spool_executor *ex;

static int hog(void *arg, void **result) {
  (void)arg;
  (void)result;
  /* acquire: pairs with D's release store */
  while (!atomic_load_explicit(&released, memory_order_acquire))
    sched_yield(); /* leave the cores to the worker that must fire the timer */
  return 0;
}

static int waiter(void *arg, void **result) {
  (void)arg;
  (void)result;
  spool_future *hogs[HOGS];
  for (int i = 0; i < HOGS; i++)
    if (spool_submit(ex, hog, NULL, &hogs[i]) != SPOOL_OK) return -1;
  int rc = spool_yield_wait(&never, 1, 0.010, SPOOL_ALL_COMPLETED, NULL);
  /* release: pairs with the hogs' acquire loads */
  atomic_store_explicit(&released, 1, memory_order_release);
  for (int i = 0; i < HOGS; i++) {
    spool_future_result(hogs[i], SPOOL_FOREVER, NULL);
    spool_future_release(hogs[i]);
  }
  return rc;
}

/* Waits until worker i has slept since this call (its seconds_asleep,
   which counts a sleep in progress, grew): nothing wakes it afterwards
   until this round submits. */
static void wait_asleep(unsigned i) {
  spool_stats before, now;
  spool_stats_read(ex, (int)i, &before);
  CHECK(HARNESS_UNTIL(
      (spool_stats_read(ex, (int)i, &now), now.seconds_asleep > before.seconds_asleep), 30));
}

int main(void) {
  ex = harness_executor(WORKERS);
  never = harness_created();
  for (unsigned round = 0; round < ROUNDS; round++) {
    harness_phase("all workers asleep");
    for (unsigned i = 0; i < WORKERS; i++)
      wait_asleep(i);
    atomic_store_explicit(&released, 0, memory_order_relaxed); /* before the submit */
    harness_phase("a new earliest deadline fires while the awake workers are busy");
    spool_future *d = harness_submit(ex, waiter, NULL);
    CHECK_EQ(spool_future_result(d, SPOOL_FOREVER, NULL), SPOOL_ETIMEDOUT);
    spool_future_release(d);
  }
  harness_watchdog_off();
  spool_future_release(never);
  spool_executor_destroy(ex);
  return harness_report();
}
