/* 1000 tasks suspended at once on two workers.
 *
 * Each task yields on its own created future; the test waits until the
 * `suspends` statistic says all 1000 are parked (none done, all running),
 * then completes the futures from the main thread, in an order that is
 * neither submission order nor its reverse, each with its own value. Every
 * task resumes, checks what it reads, and returns a value derived from its
 * index and the future's: each task's result is checked, and `resumes`
 * reaches 1000. Done twice on the same executor (the second time with
 * pooled fibers), once more with values given as errors. */
#include "harness.h"

#define TASKS 1000

typedef struct slot {
  spool_future *event; /* created; completed by main */
  intptr_t index;
  _Atomic int phase; /* 1: before the yield, 2: after it */
} slot;

static slot slots[TASKS];

static int wait_on_slot(void *arg, void **result) {
  slot *s = arg;
  atomic_store(&s->phase, 1);
  int rc = spool_future_yield_until_done(s->event);
  atomic_store(&s->phase, 2);
  if (rc != SPOOL_OK || !spool_future_done(s->event)) return 1;
  void *v = NULL;
  int outcome = spool_future_result(s->event, 0, &v);
  if (outcome != SPOOL_OK) return outcome; /* the error comes through */
  *result = HARNESS_PTR((intptr_t)v * 3 + s->index);
  return 0;
}

static void round_of(spool_executor *ex, bool as_errors) {
  uint64_t suspends0 = harness_suspends(ex), resumes0 = harness_stats(ex).resumes;
  spool_future *tasks[TASKS];
  for (int i = 0; i < TASKS; i++) {
    slots[i].event = harness_created();
    slots[i].index = i;
    atomic_store(&slots[i].phase, 0);
    tasks[i] = harness_submit(ex, wait_on_slot, &slots[i]);
  }
  CHECK(HARNESS_UNTIL(harness_suspends(ex) - suspends0 == TASKS, 20));
  CHECK_EQ(harness_suspends(ex) - suspends0, TASKS);
  int running = 0, still = 0;
  for (int i = 0; i < TASKS; i++) {
    running += spool_future_running(tasks[i]) && !spool_future_done(tasks[i]);
    still += atomic_load(&slots[i].phase) == 1;
  }
  CHECK_EQ(running, TASKS);
  CHECK_EQ(still, TASKS);
  /* 7 is prime to 1000: i -> 7i mod 1000 visits every slot once. */
  for (int k = 0; k < TASKS; k++) {
    int i = (int)((7L * k + 3) % TASKS);
    int rc = as_errors ? spool_future_set_exception(slots[i].event, 1000 + i)
                       : spool_future_set_result(slots[i].event, HARNESS_PTR(i * 5));
    CHECK_EQ(rc, SPOOL_OK);
  }
  int right = 0;
  for (int i = 0; i < TASKS; i++) {
    void *v = NULL;
    int rc = spool_future_result(tasks[i], 30.0 * harness_slowness(), &v);
    if (as_errors)
      right += rc == 1000 + i && v == NULL;
    else
      right += rc == SPOOL_OK && (intptr_t)v == i * 15 + i;
    right -= atomic_load(&slots[i].phase) != 2;
    spool_future_release(tasks[i]);
    spool_future_release(slots[i].event);
  }
  CHECK_EQ(right, TASKS);
  CHECK_EQ(harness_stats(ex).resumes - resumes0, TASKS);
  CHECK_EQ(spool_join(ex, 10.0 * harness_slowness()), SPOOL_OK);
}

int main(void) {
  spool_executor *ex = harness_executor(2);
  harness_phase("1000 suspended on two workers");
  round_of(ex, false);
  harness_phase("1000 suspended again, fibers pooled");
  round_of(ex, false);
  harness_phase("1000 suspended, completed with errors");
  round_of(ex, true);
  spool_executor_destroy(ex);
  harness_watchdog_off();
  return harness_report();
}
