/* Nearest-first stealing (runtime/victims.h) on a machine of four NUMA
 * nodes in two packages, described to hwloc with HWLOC_SYNTHETIC (the
 * workers are not bound: it is not this machine), so thieves walk every
 * level: core, cache, node, and two groups of remote nodes.
 *
 * Checks: every task of fork-join trees and of fire-and-forget trees runs
 * exactly once (count and checksum), steals happen, and every worker's
 * victim order holds every other worker once. A thief that skipped a level,
 * or stopped after a level, would leave work behind for a single worker
 * and the checks on the steal counts and the join would catch it. */
#include <internal.h>
#include <stdatomic.h>
#include <string.h>

#include "stress.h"

static spool_executor *ex;
static atomic_ulong tree_nodes, tree_sum;

static int tree(void *arg, void **result) {
  uintptr_t depth = (uintptr_t)arg;
  (void)result;
  atomic_fetch_add_explicit(&tree_nodes, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&tree_sum, depth, memory_order_relaxed);
  if (depth == 0) {
    /* A little work per leaf, so that sleeping workers wake in time to
       steal even on a loaded machine. */
    for (volatile int spin = 0; spin < 2000; spin++) {
    }
    return 0;
  }
  for (int i = 0; i < 2; i++)
    if (spool_submit(ex, tree, (void *)(depth - 1), NULL) != SPOOL_OK) return -1;
  return 0;
}

static int fib(void *arg, void **result) {
  intptr_t n = (intptr_t)arg;
  if (n < 2) {
    *result = (void *)n;
    return 0;
  }
  spool_task t;
  void *a, *b;
  spool_fork(&t, fib, (void *)(n - 1));
  fib((void *)(n - 2), &b);
  int rc = spool_sync(&t, &a);
  *result = (void *)((intptr_t)a + (intptr_t)b);
  return rc;
}

static intptr_t fib_serial(intptr_t n) {
  return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

int main(void) {
  setenv("HWLOC_SYNTHETIC", "pack:2 numa:2 l3:1 core:2 pu:1", 1);
  setenv("SPOOL_BIND", "core", 1);
  spool_config c;
  spool_config_init(&c);
  if (!CHECK(spool_executor_create(&ex, &c) == SPOOL_OK)) return stress_report();
  CHECK(spool_executor_workers(ex) == 8);
  CHECK(ex->ninjectors == 4);
  for (unsigned w = 0; w < 8; w++) {
    unsigned seen[8] = {0}, total = 0, levels = 0;
    plan_range seg[VICTIM_MAX_SEGMENTS];
    int n;
    for (unsigned l = 0; (n = victim_level(&ex->victims, w, l, seg, VICTIM_MAX_SEGMENTS)) >= 0;
         l++, levels++)
      for (unsigned k = 0; k < victim_count(seg, n); k++, total++)
        seen[victim_member(&ex->victims, seg, n, k)]++;
    CHECKF(total == 7 && levels == 5, "worker %u: %u victims in %u levels", w, total, levels);
    for (unsigned v = 0; v < 8; v++)
      CHECK(seen[v] == (v == w ? 0u : 1u));
  }

  stress_phase("fork-join and fire-and-forget trees over four nodes", 120);
  unsigned rounds = stress_budget(40);
  const uintptr_t depth = 12;
  for (unsigned r = 0; r < rounds; r++) {
    atomic_store(&tree_nodes, 0);
    atomic_store(&tree_sum, 0);
    CHECK(spool_submit(ex, tree, (void *)depth, NULL) == SPOOL_OK);
    CHECK(spool_join(ex, SPOOL_FOREVER) == SPOOL_OK);
    unsigned long want_nodes = (1ul << (depth + 1)) - 1, want_sum = 0;
    for (uintptr_t d = 0; d <= depth; d++)
      want_sum += d << (depth - d);
    CHECKF(atomic_load(&tree_nodes) == want_nodes && atomic_load(&tree_sum) == want_sum,
           "round %u: %lu nodes (want %lu)", r, atomic_load(&tree_nodes), want_nodes);
    void *v = NULL;
    CHECK(spool_run(ex, fib, (void *)20, &v) == SPOOL_OK && (intptr_t)v == fib_serial(20));
  }
  spool_stats st;
  CHECK(spool_stats_read(ex, -1, &st) == SPOOL_OK);
  CHECKF(st.steals_won > 0, "%llu steals won", (unsigned long long)st.steals_won);
  spool_executor_destroy(ex);
  return stress_report();
}
