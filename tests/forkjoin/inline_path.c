/* Which path a fork and a sync take, counted at the library's door: linked
 * with -Wl,--wrap=spool_fork,--wrap=spool_sync (meson.build), every call
 * that reaches the library's spool_fork/spool_sync goes through a counter.
 *
 * 1. Built as users build it, where spool.h's inline fast path is on: an
 *    uncontended fib on one worker makes no library call at all (every
 *    fork and sync stays inline), while spool_stats still counts the forks.
 *    Built with SPOOL_NO_INLINE: one library call per fork and per sync.
 *    The same for typed fib (SPOOL_FORK / SPOOL_SYNC).
 * 2. Outside a worker, the inline fork falls back to the library (which
 *    runs the function at once), and so does the sync. */
#include "harness.h"

#include "library_calls.h"

static int leaf(void *arg, void **result) {
  *result = arg;
  return 0;
}

enum { N = 18, FIB_N = 2584, FORKS = 4180 }; /* fib(18); forks: F(19) - 1 */

static void test_worker(void) {
  harness_phase("fib(18) on one worker: which calls reach the library");
  spool_executor *ex = harness_executor(1);
  uint64_t f0 = harness_stats(ex).forks;
  library_calls_reset();
  void *r = NULL;
  CHECK_EQ(spool_run(ex, harness_fib, HARNESS_PTR(N), &r), SPOOL_OK);
  CHECK_EQ((intptr_t)r, FIB_N);
  CHECK_EQ(harness_stats(ex).forks - f0, FORKS);
#ifdef SPOOL_INLINE_FORK_JOIN
  CHECK_EQ(atomic_load(&library_forks), 0);
  CHECK_EQ(atomic_load(&library_syncs), 0);
#else
  CHECK_EQ(atomic_load(&library_forks), FORKS);
  CHECK_EQ(atomic_load(&library_syncs), FORKS);
#endif
  spool_executor_destroy(ex);
}

/* Typed fork-join: the same, and the sync calls tfib directly. */
static long tfib(long n);
SPOOL_FORKABLE(long, tfib, long);
static long tfib(long n) {
  if (n < 2) return n;
  spool_frame(tfib) f;
  SPOOL_FORK(&f, tfib, n - 1);
  long b = tfib(n - 2);
  return SPOOL_SYNC(&f, tfib) + b;
}

static int tfib_task(void *arg, void **result) {
  *result = HARNESS_PTR(tfib((long)(intptr_t)arg));
  return 0;
}

static void test_worker_typed(void) {
  harness_phase("typed fib(18) on one worker: which calls reach the library");
  spool_executor *ex = harness_executor(1);
  uint64_t f0 = harness_stats(ex).forks;
  library_calls_reset();
  void *r = NULL;
  CHECK_EQ(spool_run(ex, tfib_task, HARNESS_PTR(N), &r), SPOOL_OK);
  CHECK_EQ((intptr_t)r, FIB_N);
  CHECK_EQ(harness_stats(ex).forks - f0, FORKS);
#ifdef SPOOL_INLINE_FORK_JOIN
  CHECK_EQ(atomic_load(&library_forks), 0);
  CHECK_EQ(atomic_load(&library_syncs), 0);
#else
  CHECK_EQ(atomic_load(&library_forks), FORKS);
  CHECK_EQ(atomic_load(&library_syncs), FORKS);
#endif
  spool_executor_destroy(ex);
}

static void test_outside(void) {
  harness_phase("fork and sync outside a worker go to the library");
  library_calls_reset();
  spool_task t;
  spool_fork(&t, leaf, HARNESS_PTR(55));
  void *r = NULL;
  CHECK_EQ(spool_sync(&t, &r), SPOOL_OK);
  CHECK_EQ((intptr_t)r, 55);
  CHECK_EQ(atomic_load(&library_forks), 1);
  CHECK_EQ(atomic_load(&library_syncs), 1);
}

int main(void) {
  harness_print_fork_join_path();
  test_outside();
  test_worker();
  test_worker_typed();
  harness_watchdog_off();
  return harness_report();
}
