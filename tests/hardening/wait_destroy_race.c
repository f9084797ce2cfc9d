/* Regression (issue 9, defect 2): a thread outside the executor waiting on
 * a task's future must not touch the executor once the task may have
 * finished, since another thread may destroy the executor then. The
 * waiter read `spare_cpus` through a pointer loaded before the task
 * finished, without the hand-off protection that destroy waits for.
 *
 * Linked against a copy of the library built with -DSPOOL_TEST_HOOKS,
 * whose outside waiter calls a hook where it is about to look at the
 * executor. The hook lets the task finish and waits until the main thread
 * has destroyed the executor; the waiter then goes on. AddressSanitizer
 * reports the read of the freed executor (heap-use-after-free) if the
 * waiter uses anything it loaded before the hook; the other builds check
 * the outcome only. */
#include "harness.h"

extern void (*volatile spool_test_hook_outside_wait)(spool_future *f);

static atomic_bool task_release, executor_destroyed, hook_armed;
static atomic_uint hook_calls;

static void destroy_while_waiting(spool_future *f) {
  (void)f;
  if (!atomic_exchange(&hook_armed, false)) return;
  atomic_fetch_add(&hook_calls, 1);
  atomic_store(&task_release, true);
  CHECK(HARNESS_UNTIL(atomic_load(&executor_destroyed), 10));
}

static int spin_until_released(void *arg, void **result) {
  (void)arg;
  while (!atomic_load(&task_release))
    harness_relax();
  *result = HARNESS_PTR(7);
  return 0;
}

static void *outside_waiter(void *arg) {
  spool_future *f = arg;
  CHECK_EQ(harness_result(f, SPOOL_FOREVER), 7);
  return NULL;
}

int main(void) {
  spool_test_hook_outside_wait = destroy_while_waiting;
  unsigned rounds = 20 * harness_scale();
  for (unsigned r = 0; r < rounds; r++) {
    harness_phase("an outside waiter resumes after the executor was destroyed");
    atomic_store(&task_release, false);
    atomic_store(&executor_destroyed, false);
    atomic_store(&hook_armed, true);
    /* one worker: spare_cpus holds on any machine with 2 CPUs, so the old
       code went on to read it */
    spool_executor *ex = harness_executor(1 + r % 2);
    spool_future *f = harness_submit(ex, spin_until_released, NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, outside_waiter, f) == 0);
    CHECK(HARNESS_UNTIL(spool_future_done(f), 10));
    spool_executor_destroy(ex);
    atomic_store(&executor_destroyed, true);
    pthread_join(t, NULL);
    spool_future_release(f);
  }
  CHECK_EQ(atomic_load(&hook_calls), rounds);
  harness_watchdog_off();
  return harness_report();
}
