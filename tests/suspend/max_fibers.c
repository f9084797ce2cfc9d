/* The max_fibers cap: a program that needs more suspended tasks than the
 * cap still completes.
 *
 * With max_fibers = 4 on two workers, 64 tasks each yield on their own
 * created future. At most 4 tasks park; the yields beyond the cap wait
 * nested, on their own stack, running the other queued tasks (which nest
 * in turn), so that all 64 tasks start and wait at once. The waits are
 * completed from outside (the main thread, or a task submitted by it),
 * in submission order, in reverse and in a scattered order: a nested wait
 * returns only when every wait stacked above it has, so the completions
 * must not depend on a result (they do not), and then all unwind.
 * Checks: every result, the `nested_waits` statistic > 0, no more than the
 * cap parked at once (suspends - resumes never above 4, sampled).
 * Once through config.max_fibers, once through SPOOL_MAX_FIBERS.
 *
 * First, the smallest case, deterministic on one worker with max_fibers = 1:
 * A parks (the cap is reached), B waits nested on the worker's loop fiber;
 * A's future completes, so the nested waiter takes A's continuation and
 * runs it; then B's completes: both must finish. (The worker must not give
 * up the fiber that holds B's nested wait when it resumes A.) */
#include "harness.h"

#define TASKS 64
#define CAP   4

static spool_future *events[TASKS];
static _Atomic int started;

static int wait_own_event(void *arg, void **result) {
  intptr_t i = (intptr_t)arg;
  atomic_fetch_add(&started, 1);
  int rc = spool_future_yield_until_done(events[i]);
  if (rc != SPOOL_OK || !spool_future_done(events[i])) return 1;
  void *v = NULL;
  rc = spool_future_result(events[i], 0, &v);
  if (rc != SPOOL_OK) return rc;
  *result = HARNESS_PTR((intptr_t)v * 2 + i);
  return 0;
}

typedef enum order { IN_ORDER, REVERSED, SCATTERED } order;

static int event_at(order o, int k) {
  switch (o) {
  case IN_ORDER:
    return k;
  case REVERSED:
    return TASKS - 1 - k;
  default:
    return (int)((13L * k + 5) % TASKS);
  }
}

typedef struct completion {
  order o;
} completion;

static int complete_all(void *arg, void **result) {
  (void)result;
  completion *c = arg;
  int bad = 0;
  for (int k = 0; k < TASKS; k++) {
    int i = event_at(c->o, k);
    bad += spool_future_set_result(events[i], HARNESS_PTR(i + 1000)) != SPOOL_OK;
  }
  return bad;
}

static void one_run(spool_executor *ex, order o, bool from_task) {
  atomic_store(&started, 0);
  spool_stats before = harness_stats(ex);
  spool_future *tasks[TASKS];
  for (int i = 0; i < TASKS; i++) {
    events[i] = harness_created();
    tasks[i] = harness_submit(ex, wait_own_event, HARNESS_PTR(i));
  }
  /* All 64 start and wait: at most 4 parked, the others waiting nested
     (each wait is counted in one statistic or the other once it begins). */
  int peak = 0;
  bool all = HARNESS_UNTIL(
      ({
        spool_stats s = harness_stats(ex);
        int parked = (int)((s.suspends - before.suspends) - (s.resumes - before.resumes));
        if (parked > peak) peak = parked;
        atomic_load(&started) == TASKS &&
            (s.suspends - before.suspends) + (s.nested_waits - before.nested_waits) == TASKS;
      }),
      20);
  CHECK(all);
  spool_stats mid = harness_stats(ex);
  CHECK(peak <= CAP);
  if (!CHECK(mid.suspends - before.suspends <= CAP) ||
      !CHECK(mid.nested_waits - before.nested_waits >= TASKS - CAP))
    fprintf(stderr, "started %d, suspends %" PRIu64 ", resumes %" PRIu64 ", nested %" PRIu64 "\n",
            atomic_load(&started), mid.suspends - before.suspends, mid.resumes - before.resumes,
            mid.nested_waits - before.nested_waits);
  for (int i = 0; i < TASKS; i++)
    CHECK(spool_future_running(tasks[i]));
  completion c = {o};
  spool_future *completer = NULL;
  if (from_task) {
    completer = harness_submit(ex, complete_all, &c);
  } else {
    CHECK_EQ(complete_all(&c, NULL), 0);
  }
  int right = 0;
  for (int i = 0; i < TASKS; i++) {
    void *v = NULL;
    right += spool_future_result(tasks[i], 30.0 * harness_slowness(), &v) == SPOOL_OK &&
             (intptr_t)v == (i + 1000) * 2 + i;
    spool_future_release(tasks[i]);
  }
  CHECK_EQ(right, TASKS);
  if (completer) {
    CHECK_EQ(harness_result(completer, SPOOL_FOREVER), 0);
    spool_future_release(completer);
  }
  CHECK_EQ(spool_join(ex, 20.0 * harness_slowness()), SPOOL_OK);
  spool_stats after = harness_stats(ex);
  CHECK(after.nested_waits > before.nested_waits);
  CHECK_EQ(after.suspends - before.suspends, after.resumes - before.resumes);
  for (int i = 0; i < TASKS; i++)
    spool_future_release(events[i]);
}

static int yield_on(void *arg, void **result) {
  (void)result;
  return spool_future_yield_until_done(arg);
}

static void resume_inside_nested_wait(void) {
  spool_executor *ex = harness_executor_opt(1, (harness_options){.max_fibers = 1});
  spool_future *ea = harness_created(), *eb = harness_created();
  spool_future *a = harness_submit(ex, yield_on, ea);
  CHECK(HARNESS_UNTIL(harness_suspends(ex) == 1, 10));
  spool_future *b = harness_submit(ex, yield_on, eb);
  CHECK(HARNESS_UNTIL(harness_stats(ex).nested_waits == 1, 10));
  CHECK_EQ(harness_suspends(ex), 1);
  CHECK_EQ(spool_future_set_result(ea, NULL), SPOOL_OK);
  CHECK_EQ(spool_future_result(a, 10.0 * harness_slowness(), NULL), SPOOL_OK);
  CHECK(!spool_future_done(b));
  CHECK_EQ(spool_future_set_result(eb, NULL), SPOOL_OK);
  CHECK_EQ(spool_future_result(b, 10.0 * harness_slowness(), NULL), SPOOL_OK);
  spool_future_release(a);
  spool_future_release(b);
  spool_future_release(ea);
  spool_future_release(eb);
  spool_executor_destroy(ex);
}

static void runs(spool_executor *ex, const char *const names[5]) {
  harness_phase(names[0]);
  one_run(ex, IN_ORDER, false);
  harness_phase(names[1]);
  one_run(ex, REVERSED, false);
  harness_phase(names[2]);
  one_run(ex, SCATTERED, false);
  harness_phase(names[3]);
  one_run(ex, SCATTERED, true);
  harness_phase(names[4]);
  one_run(ex, REVERSED, true);
}

static const char *const config_names[5] = {
    "max_fibers = 4 (config): completed by main in order",
    "max_fibers = 4 (config): completed by main in reverse",
    "max_fibers = 4 (config): completed by main, scattered",
    "max_fibers = 4 (config): completed by a task, scattered",
    "max_fibers = 4 (config): completed by a task in reverse",
};
static const char *const env_names[5] = {
    "SPOOL_MAX_FIBERS=4: completed by main in order",
    "SPOOL_MAX_FIBERS=4: completed by main in reverse",
    "SPOOL_MAX_FIBERS=4: completed by main, scattered",
    "SPOOL_MAX_FIBERS=4: completed by a task, scattered",
    "SPOOL_MAX_FIBERS=4: completed by a task in reverse",
};

int main(void) {
  harness_phase("max_fibers = 1, one worker: a resume inside a nested wait");
  resume_inside_nested_wait();
  harness_phase("max_fibers = 4 (config): start-up");
  spool_executor *ex = harness_executor_opt(2, (harness_options){.max_fibers = CAP});
  runs(ex, config_names);
  spool_executor_destroy(ex);

  harness_phase("SPOOL_MAX_FIBERS=4: start-up");
  setenv("SPOOL_MAX_FIBERS", "4", 1);
  spool_config c;
  spool_config_init(&c);
  CHECK(c.max_fibers == CAP && c.env_error == NULL);
  c.workers = 2;
  ex = NULL;
  CHECK_EQ(spool_executor_create(&ex, &c), SPOOL_OK);
  unsetenv("SPOOL_MAX_FIBERS");
  if (ex) {
    runs(ex, env_names);
    spool_executor_destroy(ex);
  }
  harness_watchdog_off();
  return harness_report();
}
