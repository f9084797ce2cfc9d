/* No allocation in steady state for spool_submit_copy of small arguments
 * (fire-and-forget, from inside tasks: the copy lives in the recycled task
 * item) and for spool_for inside a task, however many tasks or indices.
 *
 * Counts calls to the allocator by interposing malloc and friends (as
 * tests/forkjoin/no_alloc.c does): a tree of 4095 submits may not allocate
 * more than a tree of 255 beyond a small slack, and a loop of 10^6 indices
 * not more than one of 10^3. Each task also checks that its copy holds
 * what its parent wrote, while the parent overwrites its own buffer right
 * after the submit. Skipped under AddressSanitizer, ThreadSanitizer and
 * valgrind, which own the allocator. */
#include <errno.h>

#include "harness.h"

#include "counting_allocator.h"

/* A task's argument: 48 bytes (the documented minimum held in the item). */
typedef struct node_arg {
  intptr_t depth;
  unsigned char fill[40];
} node_arg;
_Static_assert(sizeof(node_arg) == 48, "48 bytes");

static _Atomic unsigned long corrupted;

static int spawn_node(void *arg, void **result) {
  (void)result;
  node_arg *a = arg;
  for (size_t i = 0; i < sizeof a->fill; i++)
    if (a->fill[i] != (unsigned char)(a->depth * 7 + i)) {
      atomic_fetch_add(&corrupted, 1);
      break;
    }
  if (a->depth == 0) return 0;
  spool_executor *ex = spool_current_executor();
  node_arg child;
  for (int k = 0; k < 2; k++) {
    child.depth = a->depth - 1;
    for (size_t i = 0; i < sizeof child.fill; i++)
      child.fill[i] = (unsigned char)(child.depth * 7 + i);
    if (spool_submit_copy(ex, spawn_node, &child, sizeof child, NULL) != SPOOL_OK) return 1;
    memset(&child, 0xEE, sizeof child); /* the copy was made: overwrite */
  }
  return 0;
}

static unsigned long run_tree(spool_executor *ex, intptr_t depth) {
  node_arg root = {.depth = depth};
  for (size_t i = 0; i < sizeof root.fill; i++)
    root.fill[i] = (unsigned char)(depth * 7 + i);
  unsigned long a0 = allocated();
  CHECK_EQ(spool_run(ex, spawn_node, &root, NULL), SPOOL_OK);
  CHECK_EQ(spool_join(ex, 20.0 * harness_slowness()), SPOOL_OK);
  return allocated() - a0;
}

static int count_indices(size_t lo, size_t hi, void *ctx) {
  atomic_fetch_add_explicit((_Atomic size_t *)ctx, hi - lo, memory_order_relaxed);
  return 0;
}

typedef struct loop_job {
  spool_executor *ex;
  size_t n;
  _Atomic size_t seen;
  unsigned long allocs;
} loop_job;

static int loop_in_task(void *arg, void **result) {
  (void)result;
  loop_job *j = arg;
  unsigned long a0 = allocated();
  int rc = spool_for(j->ex, 0, j->n, 0, count_indices, &j->seen);
  j->allocs = allocated() - a0;
  return rc;
}

static unsigned long run_loop(spool_executor *ex, size_t n) {
  loop_job j = {ex, n, 0, 0};
  CHECK_EQ(spool_run(ex, loop_in_task, &j, NULL), SPOOL_OK);
  CHECK_EQ(atomic_load(&j.seen), n);
  return j.allocs;
}

#define SLACK 8

static void check(unsigned workers) {
  spool_executor *ex = harness_executor(workers);
  for (int i = 0; i < 3; i++) /* warm up the free lists and deques */
    run_tree(ex, 12);
  unsigned long small = (unsigned long)-1, large = (unsigned long)-1;
  for (int i = 0; i < 5; i++) {
    unsigned long s = run_tree(ex, 7), l = run_tree(ex, 11);
    if (s < small) small = s;
    if (l < large) large = l;
  }
  if (!CHECK(large <= small + SLACK) || getenv("HARNESS_VERBOSE"))
    fprintf(stderr, "   %u workers: 255 copied submits, %lu allocations; 4095, %lu\n", workers,
            small, large);
  CHECK(small >= 1); /* interposition works: spool_run allocates a future */
  CHECK_EQ(atomic_load(&corrupted), 0);

  for (int i = 0; i < 3; i++)
    run_loop(ex, 1000000);
  unsigned long loop_small = (unsigned long)-1, loop_large = (unsigned long)-1;
  for (int i = 0; i < 5; i++) {
    unsigned long s = run_loop(ex, 1000), l = run_loop(ex, 1000000);
    if (s < loop_small) loop_small = s;
    if (l < loop_large) loop_large = l;
  }
  if (!CHECK(loop_large <= loop_small + SLACK) || getenv("HARNESS_VERBOSE"))
    fprintf(stderr, "   %u workers: loop of 10^3, %lu allocations; of 10^6, %lu\n", workers,
            loop_small, loop_large);
  spool_executor_destroy(ex);
}

int main(void) {
  if (!INTERPOSED || harness_under_valgrind()) {
    printf("0 passed, 0 failed (the sanitizer or valgrind owns malloc: skipped)\n");
    return HARNESS_SKIP;
  }
  harness_phase("no allocation in steady state, 1 worker");
  check(1);
  harness_phase("no allocation in steady state, 2 workers");
  check(2);
  harness_watchdog_off();
  return harness_report();
}
