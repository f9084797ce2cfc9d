/* The default worker count follows the creating thread's affinity, which
 * the workers inherit.
 *
 * spool counted the CPUs of the whole process's binding (hwloc's union
 * over its threads) while unbound workers inherit the creating thread's
 * mask. With the creating thread pinned to one CPU and another thread of
 * the process free, two workers were started to share that one CPU (found
 * by review).
 *
 * main keeps a thread running with the process's full mask, pins itself
 * to its first allowed CPU, and creates an executor with the default
 * count. Checks: it has exactly one worker (spool_stats_read() of worker 1
 * is SPOOL_EINVAL, of worker 0 SPOOL_OK), and that worker reports running
 * on the pinned CPU. Skipped where the process may use fewer than two
 * CPUs. */
#include "harness.h"

static _Atomic int stop; /* release/acquire: main tells the free thread to end */

static void *free_thread(void *arg) {
  (void)arg;
  while (!atomic_load_explicit(&stop, memory_order_acquire))
    sched_yield();
  return NULL;
}

static _Atomic int cpu_seen = -1; /* relaxed: read after the task's future */

static int where(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_store_explicit(&cpu_seen, sched_getcpu(), memory_order_relaxed);
  return 0;
}

int main(void) {
  cpu_set_t all;
  if (sched_getaffinity(0, sizeof all, &all) != 0 || CPU_COUNT(&all) < 2) {
    printf("skipped: fewer than two CPUs allowed\n");
    return HARNESS_SKIP;
  }
  harness_phase("the default count follows the creating thread's mask");
  pthread_t t;
  if (!CHECK(pthread_create(&t, NULL, free_thread, NULL) == 0)) return harness_report();
  int first = 0;
  while (!CPU_ISSET(first, &all))
    first++;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  CHECK(sched_setaffinity(0, sizeof one, &one) == 0);

  spool_executor *ex = NULL;
  if (CHECK_EQ(spool_executor_create(&ex, NULL), SPOOL_OK)) {
    spool_stats s;
    CHECK_EQ(spool_stats_read(ex, 0, &s), SPOOL_OK);
    CHECK_EQ(spool_stats_read(ex, 1, &s), SPOOL_EINVAL); /* one worker only */
    spool_future *f = harness_submit(ex, where, NULL);
    CHECK_EQ(harness_result(f, SPOOL_FOREVER), 0);
    spool_future_release(f);
    CHECK_EQ(atomic_load_explicit(&cpu_seen, memory_order_relaxed), first);
    spool_executor_destroy(ex);
  }
  atomic_store_explicit(&stop, 1, memory_order_release);
  pthread_join(t, NULL);
  harness_watchdog_off();
  return harness_report();
}
