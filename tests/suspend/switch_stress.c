/* Fiber-switch stress: many tasks suspending and resuming across workers,
 * for a bounded time, checked by counting (and by ThreadSanitizer in the
 * TSan build, where this program runs too).
 *
 * A ring of TASKS tasks advances in lock-step rounds. In round r, task i
 * completes its own created future slot[r][i] (with a value derived from r
 * and i) and yields until both neighbours' slot[r][i-1] and slot[r][i+1]
 * are done. Every completion is made by a task, on a worker, so each
 * continuation goes to the deque of the worker whose task completed the
 * last of the two, and tasks keep moving between workers as idle workers
 * steal. Every few rounds a task also runs a small fork-join computation
 * (frames and parked fibers mix). After every resume a task checks that
 * spool_current_worker() names the thread it runs on (recorded by that
 * worker's initializer), and counts the moves.
 *
 * A lap is ROUNDS rounds; laps repeat until SPOOL_STRESS_SCALE seconds have
 * passed on each configuration (2, 3 and 4 workers), at least one lap.
 * Checked: every value read, every task's round count, suspends == resumes
 * after each lap, moves between workers happened, join returns.
 *
 * Futures. slot[r][i] lives in ring entry r % RING. Task i creates its
 * round r+1 future before it completes its round r one, so a neighbour
 * reads the pointer only after its yield on the round r future returned
 * (the completion's visibility rule); it holds three references, one for
 * its creator and one for each neighbour, each released after its last
 * use. Task i overwrites entry (r+1) % RING in round r, when both
 * neighbours have completed round r-1's futures and so are done with
 * round r-3's: RING = 4 suffices. */
#include "harness.h"

#define TASKS  32
#define ROUNDS 200
#define RING   4

static spool_future *slot[RING][TASKS];
static _Atomic unsigned long bad_values, bad_threads, moves, fib_errors, rounds_done;

static intptr_t value_for(int r, int i) {
  return (intptr_t)r * 1000 + i;
}

static spool_future *new_slot(void) {
  spool_future *f = harness_created();
  spool_future_retain(f); /* left neighbour */
  spool_future_retain(f); /* right neighbour */
  return f;
}

static void count(_Atomic unsigned long *c) {
  atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* After a possible migration: the worker we are told we run on is the
   thread we run on. */
static int check_here(int before) {
  int w = spool_current_worker();
  if (w < 0 || w >= HARNESS_MAX_WORKERS ||
      !pthread_equal(harness_pthread_self(), harness_worker_thread[w]))
    count(&bad_threads);
  else if (w != before)
    count(&moves);
  return w;
}

static int ring_task(void *arg, void **result) {
  int i = (int)(intptr_t)arg;
  int left = (i + TASKS - 1) % TASKS, right = (i + 1) % TASKS;
  int w = spool_current_worker();
  int r;
  for (r = 0; r < ROUNDS; r++) {
    spool_future *mine = slot[r % RING][i];
    if (r + 1 < ROUNDS) slot[(r + 1) % RING][i] = new_slot();
    if (spool_future_set_result(mine, HARNESS_PTR(value_for(r, i))) != SPOOL_OK) count(&bad_values);
    spool_future_release(mine);
    if (r % 8 == 5) {
      void *v = NULL;
      if (spool_run(spool_current_executor(), harness_fib, HARNESS_PTR(9), &v) != SPOOL_OK ||
          (intptr_t)v != 34)
        count(&fib_errors);
      w = check_here(w);
    }
    spool_future *theirs[2] = {slot[r % RING][left], slot[r % RING][right]};
    if (spool_yield_until_done(theirs, 2) != SPOOL_OK) count(&bad_values);
    w = check_here(w);
    for (int k = 0; k < 2; k++) {
      void *v = NULL;
      if (!spool_future_done(theirs[k]) || spool_future_result(theirs[k], 0, &v) != SPOOL_OK ||
          (intptr_t)v != value_for(r, k ? right : left))
        count(&bad_values);
      spool_future_release(theirs[k]);
    }
    count(&rounds_done);
  }
  *result = HARNESS_PTR(r);
  return 0;
}

static void one_lap(spool_executor *ex) {
  for (int i = 0; i < TASKS; i++)
    slot[0][i] = new_slot();
  spool_future *tasks[TASKS];
  for (int i = 0; i < TASKS; i++)
    tasks[i] = harness_submit(ex, ring_task, HARNESS_PTR(i));
  int right = 0;
  for (int i = 0; i < TASKS; i++) {
    void *v = NULL;
    right += spool_future_result(tasks[i], SPOOL_FOREVER, &v) == SPOOL_OK && (intptr_t)v == ROUNDS;
    spool_future_release(tasks[i]);
  }
  CHECK_EQ(right, TASKS);
  CHECK_EQ(spool_join(ex, 10.0 * harness_slowness()), SPOOL_OK);
  spool_stats s = harness_stats(ex);
  CHECK_EQ(s.suspends, s.resumes);
}

static void one_configuration(unsigned workers, double seconds) {
  spool_executor *ex = harness_executor(workers);
  atomic_store(&bad_values, 0);
  atomic_store(&bad_threads, 0);
  atomic_store(&moves, 0);
  atomic_store(&fib_errors, 0);
  atomic_store(&rounds_done, 0);
  double end = harness_now() + seconds;
  unsigned laps = 0;
  do {
    one_lap(ex);
    laps++;
  } while (harness_now() < end && harness_failures() == 0);
  spool_stats s = harness_stats(ex);
  CHECK_EQ(atomic_load(&rounds_done), (unsigned long)laps * TASKS * ROUNDS);
  CHECK_EQ(atomic_load(&bad_values), 0);
  CHECK_EQ(atomic_load(&bad_threads), 0);
  CHECK_EQ(atomic_load(&fib_errors), 0);
  CHECK(atomic_load(&moves) > 0);
  CHECK(s.suspends > 0);
  if (getenv("HARNESS_VERBOSE"))
    fprintf(stderr, "   %u workers: %u laps, %" PRIu64 " suspends, %lu moves, %" PRIu64 " steals\n",
            workers, laps, s.suspends, atomic_load(&moves), s.steals_won);
  spool_executor_destroy(ex);
}

int main(void) {
  double seconds = 1.0 * harness_scale();
  harness_phase_limited("switch stress, 2 workers", 60);
  one_configuration(2, seconds);
  harness_phase_limited("switch stress, 3 workers", 60);
  one_configuration(3, seconds);
  harness_phase_limited("switch stress, 4 workers", 60);
  one_configuration(4, seconds);
  harness_watchdog_off();
  return harness_report();
}
