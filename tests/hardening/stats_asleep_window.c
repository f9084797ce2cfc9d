/* seconds_asleep never counts a sleep twice.
 *
 * spool_stats.seconds_asleep includes a sleep in progress: the worker
 * keeps its total (ns_asleep) and the start of the current sleep
 * (asleep_since). When a sleep ends it adds the sleep to the total, then
 * clears the start. A reader that read the start before the clear and the
 * total after the addition counted the sleep twice (found by review; its
 * re-check of the start could not see it, since the start had not changed
 * yet). runtime/stats.c now reads the pair under a sequence lock.
 *
 * Against the test-hooks library: the worker stops in the window (between
 * the addition and the clear) until main has read the statistics, or for
 * at most WINDOW_S seconds, since a correct reader waits for the window to
 * close. Main reads inside the window. One worker, asleep for most of its
 * life: a double count reads about twice the executor's age; the check is
 * that the reading is at most the age (one worker cannot sleep longer than
 * it has existed). ROUNDS rounds. */
#include "harness.h"

#define ROUNDS   (5 * harness_scale())
#define WINDOW_S 0.2

extern void (*volatile spool_test_hook_sleep_counted)(void);

/* release/acquire: main arming the hook for one sleep's end, the worker's
   announcement that it is in the window, and main's that it has read. */
static _Atomic int armed, in_window, read_done;

/* Installed before any executor exists (the hook pointer is a plain
   variable the workers read); does nothing unless armed. */
static void hold_window(void) {
  if (!atomic_exchange_explicit(&armed, 0, memory_order_acq_rel)) return;
  atomic_store_explicit(&in_window, 1, memory_order_release);
  double until = harness_now() + WINDOW_S;
  while (!atomic_load_explicit(&read_done, memory_order_acquire) && harness_now() < until)
    sched_yield();
}

static int nothing(void *arg, void **result) {
  (void)arg;
  (void)result;
  return 0;
}

int main(void) {
  spool_test_hook_sleep_counted = hold_window;
  for (unsigned round = 0; round < ROUNDS; round++) {
    harness_phase("a reading inside the window counts the sleep once");
    double born = harness_now();
    spool_executor *ex = harness_executor(1);
    spool_stats s;
    /* Asleep for a while: the sleep that ends below is most of its life. */
    CHECK(HARNESS_UNTIL((spool_stats_read(ex, 0, &s), s.seconds_asleep > 0.02), 30));
    atomic_store_explicit(&in_window, 0, memory_order_relaxed);
    atomic_store_explicit(&read_done, 0, memory_order_relaxed);
    atomic_store_explicit(&armed, 1, memory_order_release);
    spool_future *f = harness_submit(ex, nothing, NULL); /* wakes it */
    CHECK(HARNESS_UNTIL(atomic_load_explicit(&in_window, memory_order_acquire), 30));
    spool_stats_read(ex, 0, &s);
    double age = harness_now() - born;
    atomic_store_explicit(&read_done, 1, memory_order_release);
    if (!CHECK(s.seconds_asleep <= age))
      fprintf(stderr, "round %u: seconds_asleep %.3f s for an executor %.3f s old\n", round,
              s.seconds_asleep, age);
    CHECK_EQ(harness_result(f, SPOOL_FOREVER), 0);
    spool_future_release(f);
    spool_executor_destroy(ex);
  }
  harness_watchdog_off();
  return harness_report();
}
