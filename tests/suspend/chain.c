/* A chain of 300 nested submit-and-yield levels: level n submits level n-1
 * and yields on its future; level 0 returns 0; each level adds one, so the
 * root's result is 300.
 *
 * 1. One worker: every level is claimed inline, 300 tasks deep on one
 *    fiber's stack.
 * 2. The bottom level yields on a created future that the test completes
 *    once it has parked (`suspends` says so): on one worker the whole chain
 *    runs inline, so a 300-deep stack is parked, resumes and unwinds; on two
 *    workers, stolen levels park on their own.
 * 3. Every level first yields on a created future that the level below
 *    completes when it starts, then on its child: on one worker every level
 *    parks (300 fibers parked at once: exactly 300 suspends), and the
 *    continuations unwind the chain; on two and four workers, in whatever
 *    order stealing gives.
 * Each case runs several times on the same executor. */
#include "harness.h"

#define LEVELS 300

static spool_future *bottom_event;            /* case 2: completed by the test */
static spool_future *level_event[LEVELS + 1]; /* case 3: level n waits on level_event[n] */
static bool per_level_events;

static int level(void *arg, void **result) {
  intptr_t n = (intptr_t)arg;
  if (per_level_events && n < LEVELS) {
    /* Let the parent go on (it yields on this event and our future). */
    if (spool_future_set_result(level_event[n + 1], HARNESS_PTR(n)) != SPOOL_OK) return 50;
  }
  if (n == 0) {
    if (bottom_event) {
      int rc = spool_future_yield_until_done(bottom_event);
      if (rc != SPOOL_OK) return rc;
    }
    *result = HARNESS_PTR(0);
    return 0;
  }
  spool_future *child = NULL;
  if (spool_submit(spool_current_executor(), level, HARNESS_PTR(n - 1), &child) != SPOOL_OK)
    return 51;
  int rc = SPOOL_OK;
  if (per_level_events) {
    /* A created future: nothing to claim inline, so the level parks and
       its worker goes on to the child, which completes the event. */
    rc = spool_future_yield_until_done(level_event[n]);
  }
  if (rc == SPOOL_OK) rc = spool_future_yield_until_done(child);
  void *v = NULL;
  int outcome = spool_future_result(child, 0, &v);
  bool done = spool_future_done(child);
  spool_future_release(child);
  if (rc != SPOOL_OK || !done) return 52;
  if (outcome != SPOOL_OK) return outcome;
  *result = HARNESS_PTR((intptr_t)v + 1);
  return 0;
}

static void run_chain(spool_executor *ex, int times) {
  for (int i = 0; i < times; i++) {
    spool_future *root = harness_submit(ex, level, HARNESS_PTR(LEVELS));
    CHECK_EQ(harness_result(root, SPOOL_FOREVER), LEVELS);
    spool_future_release(root);
  }
}

int main(void) {
  harness_phase("300 levels on one worker (inline)");
  spool_executor *ex = harness_executor(1);
  run_chain(ex, 5);
  spool_executor_destroy(ex);

  for (unsigned workers = 1; workers <= 2; workers++) {
    harness_phase(workers == 1 ? "300 levels parked at once on one stack, one worker"
                               : "300 levels with the bottom parked, two workers");
    ex = harness_executor(workers);
    for (int i = 0; i < 3; i++) {
      bottom_event = harness_created();
      uint64_t s0 = harness_suspends(ex);
      spool_future *root = harness_submit(ex, level, HARNESS_PTR(LEVELS));
      /* On one worker every level runs the next inline, and the bottom's
         yield parks the 300-deep stack: exactly one suspension. On two, a
         level whose child was stolen parks too. */
      CHECK(HARNESS_UNTIL(harness_suspends(ex) > s0, 10));
      CHECK(!spool_future_done(root));
      if (workers == 1) CHECK_EQ(harness_suspends(ex) - s0, 1);
      CHECK_EQ(spool_future_set_result(bottom_event, NULL), SPOOL_OK);
      CHECK_EQ(harness_result(root, SPOOL_FOREVER), LEVELS);
      if (workers == 1) CHECK_EQ(harness_suspends(ex) - s0, 1);
      spool_future_release(root);
      spool_future_release(bottom_event);
      bottom_event = NULL;
    }
    spool_executor_destroy(ex);
  }

  static const char *const names[] = {"", "300 levels, each parked, one worker",
                                      "300 levels, each parked, two workers", "",
                                      "300 levels, each parked, four workers"};
  for (unsigned workers = 1; workers <= 4; workers *= 2) {
    harness_phase(names[workers]);
    ex = harness_executor(workers);
    per_level_events = true;
    for (int i = 0; i < 3; i++) {
      for (int n = 0; n <= LEVELS; n++)
        level_event[n] = harness_created();
      uint64_t s0 = harness_suspends(ex);
      spool_future *root = harness_submit(ex, level, HARNESS_PTR(LEVELS));
      CHECK_EQ(harness_result(root, SPOOL_FOREVER), LEVELS);
      if (workers == 1)
        CHECK_EQ(harness_suspends(ex) - s0, LEVELS);
      else
        CHECK(harness_suspends(ex) > s0);
      spool_future_release(root);
      for (int n = 0; n <= LEVELS; n++)
        spool_future_release(level_event[n]);
    }
    per_level_events = false;
    spool_executor_destroy(ex);
  }
  harness_watchdog_off();
  return harness_report();
}
