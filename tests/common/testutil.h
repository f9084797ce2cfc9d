/* Small helpers shared by the test programs: clocks, bounded waits for a
 * situation to arise, and tasks that block on a gate.
 *
 * A bounded wait (await_*) polls a state the test can observe and gives up
 * after a timeout, returning false: the caller asserts on it, so a
 * situation that never arises fails the test instead of letting it pass
 * for the wrong reason. */
#ifndef SPOOL_TEST_UTIL_H
#define SPOOL_TEST_UTIL_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <spool.h>

#include "sanitizers.h"

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the whole process (every thread), in seconds. */
static inline double process_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void sleep_s(double s) {
  struct timespec ts;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* Waits until *p >= value; false after `timeout` seconds. */
static inline bool await_at_least(atomic_long *p, long value, double timeout) {
  double end = now_s() + timeout;
  while (atomic_load(p) < value) {
    if (now_s() > end) return false;
    sched_yield();
  }
  return true;
}

/* Waits until pred(arg) holds; false after `timeout` seconds. */
static inline bool await_pred(bool (*pred)(void *), void *arg, double timeout) {
  double end = now_s() + timeout;
  while (!pred(arg)) {
    if (now_s() > end) return false;
    sched_yield();
  }
  return true;
}

/* Timeouts of bounded waits that should succeed at once: generous, since
   sanitizers and a loaded 2-core machine slow things down. */
#define TEST_SETTLE_S 10.0

/* ---- Tasks --------------------------------------------------------------- */

/* Stores arg as the result. */
static inline int task_return_arg(void *arg, void **result) {
  *result = arg;
  return 0;
}

/* Returns (int)(intptr_t)arg as the error code. */
static inline int task_return_code(void *arg, void **result) {
  (void)result;
  return (int)(intptr_t)arg;
}

/* Increments the atomic_long at arg. */
static inline int task_count(void *arg, void **result) {
  (void)result;
  atomic_fetch_add((atomic_long *)arg, 1);
  return 0;
}

/* A task that blocks its worker until `gate` (a created future) completes:
   it counts itself started, waits, counts itself finished, and returns
   `value` as its result. */
typedef struct blocker {
  spool_future *gate;
  atomic_long started;
  atomic_long finished;
  int worker; /* spool_current_worker() seen by the task */
  void *value;
} blocker;

static inline int task_block(void *arg, void **result) {
  blocker *b = arg;
  b->worker = spool_current_worker();
  atomic_fetch_add(&b->started, 1);
  int rc = spool_future_result(b->gate, SPOOL_FOREVER, NULL);
  atomic_fetch_add(&b->finished, 1);
  *result = b->value;
  return rc;
}

static inline void blocker_init(blocker *b, void *value) {
  spool_future_create(&b->gate);
  atomic_init(&b->started, 0);
  atomic_init(&b->finished, 0);
  b->worker = -2;
  b->value = value;
}

static inline void blocker_release(blocker *b) {
  spool_future_set_result(b->gate, NULL);
}

static inline void blocker_destroy(blocker *b) {
  spool_future_release(b->gate);
  b->gate = NULL;
}

/* An executor with `n` workers (the defaults otherwise), or NULL. */
static inline spool_executor *executor_with(unsigned n) {
  spool_config c;
  spool_config_init(&c);
  c.workers = n;
  spool_executor *ex = NULL;
  if (spool_executor_create(&ex, &c) != SPOOL_OK) return NULL;
  return ex;
}

#endif /* SPOOL_TEST_UTIL_H */
