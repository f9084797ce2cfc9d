/* A workload for the trace check (check.py): fork-join with steals, tasks
 * that yield on futures completed by other tasks (suspends and resumes),
 * fire-and-forget trees and idle periods, on the executor that
 * SPOOL_TRACE configures. After spool_shutdown(wait) no worker records any
 * more, so the statistics printed then (one JSON object on stdout) must
 * match the trace written by spool_executor_destroy event for event.
 *
 *   workload            one executor
 *   workload twice      two executors one after the other, same path */
#include <spool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static spool_executor *ex;

static long long monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fib(void *arg, void **result) {
  intptr_t n = (intptr_t)arg;
  if (n < 2) {
    /* Some work per leaf, so that the other worker wakes in time to
       steal even on a loaded machine. */
    for (volatile int i = 0; i < 300; i++) {
    }
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

static int set_later(void *arg, void **result) {
  (void)result;
  for (volatile int i = 0; i < 20000; i++) {
  }
  return spool_future_set_result(arg, arg);
}

static int waiter(void *arg, void **result) {
  (void)arg;
  (void)result;
  spool_future *f;
  if (spool_future_create(&f) != SPOOL_OK) return -1;
  spool_future *setter;
  if (spool_submit(ex, set_later, f, &setter) != SPOOL_OK) return -1;
  /* The setter is queued behind us: the yield suspends unless another
     worker takes it first; both happen over many rounds. */
  int rc = spool_future_yield_until_done(f);
  spool_future_release(setter);
  spool_future_release(f);
  return rc;
}

/* A steal on every call, whatever the machine's load: the forked frame
   sets a future that the task then blocks on, so the frame can only run on
   the other worker (a blocking wait publishes the worker's frames first). */
static int set_future(void *arg, void **result) {
  (void)result;
  return spool_future_set_result(arg, NULL);
}

static int forced_steal(void *arg, void **result) {
  (void)arg;
  (void)result;
  spool_future *f;
  if (spool_future_create(&f) != SPOOL_OK) return -1;
  spool_task t;
  spool_fork(&t, set_future, f);
  int rc = spool_future_result(f, SPOOL_FOREVER, NULL);
  int rc_sync = spool_sync(&t, NULL);
  spool_future_release(f);
  return rc ? rc : rc_sync;
}

static int leaf_tree(void *arg, void **result) {
  (void)result;
  intptr_t d = (intptr_t)arg;
  if (d > 0)
    for (int i = 0; i < 2; i++)
      if (spool_submit(ex, leaf_tree, (void *)(d - 1), NULL) != SPOOL_OK) return -1;
  return 0;
}

static int run_one(void) {
  spool_config c;
  spool_config_init(&c);
  c.workers = 2;
  long long created_before_ns = monotonic_ns();
  if (spool_executor_create(&ex, &c) != SPOOL_OK) return 1;
  long long created_after_ns = monotonic_ns();
  for (int round = 0; round < 20; round++) {
    void *v;
    if (spool_run(ex, fib, (void *)18, &v) != SPOOL_OK || (intptr_t)v != 2584) return 1;
    spool_future *w[4];
    for (int i = 0; i < 4; i++)
      if (spool_submit(ex, waiter, NULL, &w[i]) != SPOOL_OK) return 1;
    for (int i = 0; i < 4; i++) {
      if (spool_future_result(w[i], SPOOL_FOREVER, NULL) != SPOOL_OK) return 1;
      spool_future_release(w[i]);
    }
    if (spool_run(ex, forced_steal, NULL, NULL) != SPOOL_OK) return 1;
    if (spool_submit(ex, leaf_tree, (void *)8, NULL) != SPOOL_OK) return 1;
    if (spool_join(ex, SPOOL_FOREVER) != SPOOL_OK) return 1;
  }
  if (spool_shutdown(ex, true, false) != SPOOL_OK) return 1;
  unsigned n = spool_executor_workers(ex);
  printf("{\"workers\":%u,\"per_worker\":[", n);
  for (unsigned i = 0; i < n; i++) {
    spool_stats s;
    if (spool_stats_read(ex, (int)i, &s) != SPOOL_OK) return 1;
    printf("%s{\"steals_won\":%llu,\"suspends\":%llu,\"resumes\":%llu}", i ? "," : "",
           (unsigned long long)s.steals_won, (unsigned long long)s.suspends,
           (unsigned long long)s.resumes);
  }
  /* The trace's epoch must lie between these two readings. */
  printf("],\"created_ns\":[%lld,%lld]}\n", created_before_ns, created_after_ns);
  spool_executor_destroy(ex);
  return 0;
}

int main(int argc, char **argv) {
  int runs = argc > 1 && !strcmp(argv[1], "twice") ? 2 : 1;
  for (int i = 0; i < runs; i++)
    if (run_one() != 0) {
      fprintf(stderr, "workload failed\n");
      return 1;
    }
  return 0;
}
