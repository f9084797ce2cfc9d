/* Regression (issue 9, defect 4): max_fibers near UINT_MAX. The loop fibers
 * (one per worker) are added to the cap; the sum used to wrap, so
 * SPOOL_MAX_FIBERS=4294967295 made creation fail with SPOOL_ENOMEM.
 *
 * Checks: creation with max_fibers = UINT_MAX (set directly, and through
 * SPOOL_MAX_FIBERS) succeeds, and a task can still suspend (it takes a
 * fiber beyond the loop fibers) and be resumed. */
#include "harness.h"

#include <limits.h>

static int waits_on(void *arg, void **result) {
  spool_future *gate = arg;
  *result = HARNESS_PTR(spool_future_yield_until_done(gate) == SPOOL_OK ? 42 : -1);
  return 0;
}

static void suspend_once(spool_config *c) {
  spool_executor *ex = NULL;
  int rc = spool_executor_create(&ex, c);
  if (!CHECK_EQ(rc, SPOOL_OK)) return;
  spool_future *gate = harness_created();
  spool_future *f = harness_submit(ex, waits_on, gate);
  CHECK(HARNESS_UNTIL(harness_suspends(ex) >= 1, 10));
  CHECK_EQ(spool_future_set_result(gate, NULL), SPOOL_OK);
  CHECK_EQ(harness_result(f, 10), 42);
  spool_future_release(f);
  spool_future_release(gate);
  spool_executor_destroy(ex);
}

int main(void) {
  harness_phase("max_fibers = UINT_MAX, set in the config");
  spool_config c;
  spool_config_init(&c);
  c.workers = 2;
  c.max_fibers = UINT_MAX;
  suspend_once(&c);

  harness_phase("SPOOL_MAX_FIBERS=4294967295");
  setenv("SPOOL_MAX_FIBERS", "4294967295", 1);
  spool_config_init(&c);
  CHECK(c.env_error == NULL);
  CHECK_EQ(c.max_fibers, UINT_MAX);
  c.workers = 3;
  suspend_once(&c);

  harness_phase("max_fibers = UINT_MAX - 1 with the default worker count");
  unsetenv("SPOOL_MAX_FIBERS");
  spool_config_init(&c);
  c.max_fibers = UINT_MAX - 1;
  suspend_once(&c);

  harness_watchdog_off();
  return harness_report();
}
