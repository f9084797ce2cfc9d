/* No allocation in steady state: a warm fork-join run calls malloc a fixed
 * number of times, however many forks it makes.
 *
 * The program interposes malloc, calloc, realloc and the aligned
 * allocators (defined here, forwarding to glibc's __libc_* entry points)
 * and counts the calls with an atomic counter. On a warm executor (deques
 * grown, fiber pools filled by earlier runs), a spool_run of fib(n) makes
 * F forks and one of fib(n+5) about 11 F forks; the second may not call
 * the allocator more than the first beyond a small slack (spool_run's own
 * future, a stray refill). Measured several times, the least kept, on 1
 * and 2 workers (on 2, frames are stolen and syncs suspend, so parked
 * fibers and continuations are exercised too), and for a tree of
 * fire-and-forget submissions made from inside a task (work items come
 * from the worker's free list).
 *
 * Skipped under AddressSanitizer, ThreadSanitizer and valgrind: they
 * replace the allocator themselves. */
#include <errno.h>

#include "harness.h"

#include "counting_allocator.h"

typedef struct measure {
  unsigned long allocs;
  uint64_t forks;
} measure;

static measure run_fib(spool_executor *ex, intptr_t n) {
  uint64_t f0 = harness_stats(ex).forks;
  unsigned long a0 = allocated();
  void *r = NULL;
  int rc = spool_run(ex, harness_fib, HARNESS_PTR(n), &r);
  unsigned long a1 = allocated();
  CHECK_EQ(rc, SPOOL_OK);
  CHECK_EQ((intptr_t)r, harness_fib_serial(n));
  return (measure){a1 - a0, harness_stats(ex).forks - f0};
}

/* Fire-and-forget submissions from inside a task: a binary tree. */
static int spawn_tree(void *arg, void **result) {
  (void)result;
  intptr_t depth = (intptr_t)arg;
  if (depth == 0) return 0;
  spool_executor *ex = spool_current_executor();
  if (spool_submit(ex, spawn_tree, HARNESS_PTR(depth - 1), NULL) != SPOOL_OK) return 1;
  if (spool_submit(ex, spawn_tree, HARNESS_PTR(depth - 1), NULL) != SPOOL_OK) return 1;
  return 0;
}

static unsigned long run_tree(spool_executor *ex, intptr_t depth) {
  unsigned long a0 = allocated();
  CHECK_EQ(spool_run(ex, spawn_tree, HARNESS_PTR(depth), NULL), SPOOL_OK);
  CHECK_EQ(spool_join(ex, 20.0 * harness_slowness()), SPOOL_OK);
  return allocated() - a0;
}

#define SLACK 8

static void check_fork_join(unsigned workers) {
  spool_executor *ex = harness_executor(workers);
  for (int i = 0; i < 5; i++) /* warm up: grow deques, fill pools */
    run_fib(ex, 24);
  unsigned long small = (unsigned long)-1, large = (unsigned long)-1;
  uint64_t small_forks = 0, large_forks = 0;
  for (int i = 0; i < 5; i++) {
    measure s = run_fib(ex, 17), l = run_fib(ex, 22);
    if (s.allocs < small) small = s.allocs;
    if (l.allocs < large) large = l.allocs;
    small_forks = s.forks;
    large_forks = l.forks;
  }
  CHECK(large_forks >= 10 * small_forks);
  if (!CHECK(large <= small + SLACK) || getenv("HARNESS_VERBOSE"))
    fprintf(stderr,
            "   %u workers: fib(17) %" PRIu64 " forks, %lu allocations; fib(22) %" PRIu64
            " forks, %lu allocations\n",
            workers, small_forks, small, large_forks, large);
  /* Interposition works (spool_run allocates its root task's future). */
  CHECK(small >= 1);

  unsigned long tree_small = (unsigned long)-1, tree_large = (unsigned long)-1;
  for (int i = 0; i < 3; i++) /* warm up the free lists */
    run_tree(ex, 12);
  for (int i = 0; i < 5; i++) {
    unsigned long s = run_tree(ex, 8), l = run_tree(ex, 11);
    if (s < tree_small) tree_small = s;
    if (l < tree_large) tree_large = l;
  }
  if (!CHECK(tree_large <= tree_small + SLACK) || getenv("HARNESS_VERBOSE"))
    fprintf(stderr, "   %u workers: tree of 511 tasks, %lu allocations; of 4095, %lu\n", workers,
            tree_small, tree_large);
  spool_executor_destroy(ex);
}

int main(void) {
  if (!INTERPOSED || harness_under_valgrind()) {
    printf("0 passed, 0 failed (the sanitizer or valgrind owns malloc: skipped)\n");
    return HARNESS_SKIP;
  }
  harness_phase("no allocation in steady state, 1 worker");
  check_fork_join(1);
  harness_phase("no allocation in steady state, 2 workers");
  check_fork_join(2);
  harness_watchdog_off();
  return harness_report();
}
