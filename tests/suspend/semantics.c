/* The contract of spool_yield_until_done around its edges.
 *
 *  - Outside any worker it blocks like spool_wait(ALL_COMPLETED) and
 *    returns with every future done; argument errors; n == 0.
 *  - Futures already done, cancelled, failed or listed twice.
 *  - A task of one executor yielding on a task of another.
 *  - spool_join does not return while a task is suspended (a short timeout
 *    gives SPOOL_ETIMEDOUT; the task's future reports running), and returns
 *    SPOOL_OK once it has finished; a suspended fire-and-forget task's error
 *    reaches the join after it.
 *  - spool_shutdown(wait=true) while tasks are suspended: they resume when
 *    another thread completes their futures, and shutdown returns after
 *    they finished; shutdown(cancel_futures) cancels queued tasks, never a
 *    suspended one; spool_executor_destroy while tasks are suspended. */
#include "harness.h"

static int noop(void *arg, void **result) {
  (void)arg;
  (void)result;
  return 0;
}

/* Yields on the created future `arg` and returns its value + 1, or its
   error. */
static int wait_event(void *arg, void **result) {
  spool_future *ev = arg;
  int rc = spool_future_yield_until_done(ev);
  if (rc != SPOOL_OK) return 100;
  if (!spool_future_done(ev)) return 101;
  void *v = NULL;
  rc = spool_future_result(ev, 0, &v);
  if (rc != SPOOL_OK) return rc;
  *result = HARNESS_PTR((intptr_t)v + 1);
  return 0;
}

static _Atomic bool gate; /* released by the test */

static int wait_gate(void *arg, void **result) {
  double deadline = harness_now() + 30.0 * harness_slowness();
  while (!atomic_load(&gate) && harness_now() < deadline)
    harness_relax();
  *result = arg;
  return atomic_load(&gate) ? 0 : 1;
}

/* ---- Outside any worker ---------------------------------------------------- */

static _Atomic bool main_yielding;
static spool_future *outside_event;

static void *completer_thread(void *arg) {
  (void)arg;
  while (!atomic_load(&main_yielding))
    sched_yield();
  atomic_store(&gate, true);
  spool_future_set_result(outside_event, HARNESS_PTR(9));
  return NULL;
}

static void test_outside(void) {
  harness_phase("yield outside any worker");
  CHECK_EQ(spool_yield_until_done(NULL, 0), SPOOL_OK);
  CHECK_EQ(spool_yield_until_done(NULL, 1), SPOOL_EINVAL);
  spool_future *nul[2] = {NULL, NULL};
  CHECK_EQ(spool_yield_until_done(nul, 2), SPOOL_EINVAL);
  CHECK_EQ(spool_future_yield_until_done(NULL), SPOOL_EINVAL);

  spool_executor *ex = harness_executor(2);
  atomic_store(&gate, false);
  atomic_store(&main_yielding, false);
  outside_event = harness_created();
  spool_future *fs[3] = {harness_submit(ex, wait_gate, HARNESS_PTR(3)), outside_event,
                         harness_submit(ex, wait_event, outside_event)};
  spool_future *copy[3] = {fs[0], fs[1], fs[2]};
  pthread_t th;
  CHECK(pthread_create(&th, NULL, completer_thread, NULL) == 0);
  atomic_store(&main_yielding, true);
  CHECK_EQ(spool_yield_until_done(fs, 3), SPOOL_OK);
  for (int i = 0; i < 3; i++) {
    CHECK(fs[i] == copy[i]);
    CHECK(spool_future_done(fs[i]));
  }
  CHECK_EQ(harness_result(fs[0], 0), 3);
  CHECK_EQ(harness_result(fs[1], 0), 9);
  CHECK_EQ(harness_result(fs[2], 0), 10);
  pthread_join(th, NULL);
  /* Already done: returns at once. */
  CHECK_EQ(spool_yield_until_done(fs, 3), SPOOL_OK);
  for (int i = 0; i < 3; i++)
    spool_future_release(fs[i]);
  spool_executor_destroy(ex);
}

/* ---- Done, cancelled, failed, duplicated futures ------------------------ */

static int fail_with(void *arg, void **result) {
  (void)result;
  return (int)(intptr_t)arg;
}

static spool_future *done_f, *cancelled_f, *failed_f;

static int yield_on_done_ones(void *arg, void **result) {
  (void)arg;
  (void)result;
  spool_future *fs[4] = {done_f, cancelled_f, failed_f, done_f};
  if (spool_yield_until_done(fs, 4) != SPOOL_OK) return 1;
  if (spool_future_exception(failed_f, 0) != -42) return 2;
  if (spool_future_result(cancelled_f, 0, NULL) != SPOOL_ECANCELLED) return 3;
  return 0;
}

static spool_future *dup_event, *dup_other;

static int yield_on_duplicates(void *arg, void **result) {
  (void)arg;
  (void)result;
  spool_future *fs[4] = {dup_event, dup_other, dup_event, dup_other};
  if (spool_yield_until_done(fs, 4) != SPOOL_OK) return 1;
  for (int i = 0; i < 4; i++)
    if (!spool_future_done(fs[i])) return 2;
  return 0;
}

static void test_odd_futures(void) {
  harness_phase("yield on done, cancelled, failed and duplicated futures");
  spool_executor *ex = harness_executor(1);
  done_f = harness_created();
  CHECK_EQ(spool_future_set_result(done_f, NULL), SPOOL_OK);
  cancelled_f = harness_created();
  CHECK(spool_future_cancel(cancelled_f));
  failed_f = harness_submit(ex, fail_with, HARNESS_PTR(-42));
  CHECK_EQ(spool_future_exception(failed_f, SPOOL_FOREVER), -42);
  uint64_t s0 = harness_suspends(ex);
  spool_future *t = harness_submit(ex, yield_on_done_ones, NULL);
  CHECK_EQ(spool_future_result(t, SPOOL_FOREVER, NULL), SPOOL_OK);
  CHECK_EQ(harness_suspends(ex), s0); /* nothing to wait for: no park */
  spool_future_release(t);

  dup_event = harness_created();
  dup_other = harness_created();
  t = harness_submit(ex, yield_on_duplicates, NULL);
  CHECK(HARNESS_UNTIL(harness_suspends(ex) == s0 + 1, 10));
  CHECK_EQ(spool_future_set_result(dup_event, NULL), SPOOL_OK);
  CHECK(!spool_future_done(t)); /* still waits for the other */
  CHECK_EQ(spool_future_set_exception(dup_other, 5), SPOOL_OK);
  CHECK_EQ(spool_future_result(t, SPOOL_FOREVER, NULL), SPOOL_OK);
  CHECK_EQ(harness_stats(ex).resumes, 1);
  spool_future_release(t);
  spool_future_release(dup_event);
  spool_future_release(dup_other);
  spool_future_release(done_f);
  spool_future_release(cancelled_f);
  spool_future_release(failed_f);
  spool_executor_destroy(ex);
}

/* ---- Across executors ---------------------------------------------------- */

static spool_executor *other_ex;
static spool_future *cross_event;

static int yield_on_other_executor(void *arg, void **result) {
  (void)arg;
  spool_future *f = NULL;
  if (spool_submit(other_ex, wait_event, cross_event, &f) != SPOOL_OK) return 1;
  /* f belongs to the other executor: not claimed inline here. */
  int rc = spool_future_yield_until_done(f);
  void *v = NULL;
  if (rc == SPOOL_OK) rc = spool_future_result(f, 0, &v);
  spool_future_release(f);
  *result = v;
  return rc;
}

static void test_cross_executor(void) {
  harness_phase("yield on a task of another executor");
  spool_executor *ex = harness_executor(1);
  other_ex = harness_executor(1);
  cross_event = harness_created();
  spool_future *t = harness_submit(ex, yield_on_other_executor, NULL);
  CHECK(HARNESS_UNTIL(harness_suspends(ex) == 1 && harness_suspends(other_ex) == 1, 10));
  CHECK(spool_future_running(t));
  CHECK_EQ(spool_future_set_result(cross_event, HARNESS_PTR(20)), SPOOL_OK);
  CHECK_EQ(harness_result(t, SPOOL_FOREVER), 21);
  spool_future_release(t);
  spool_future_release(cross_event);
  spool_executor_destroy(other_ex);
  spool_executor_destroy(ex);
}

/* ---- join ---------------------------------------------------------------- */

static int detached_wait_then_fail(void *arg, void **result) {
  int rc = wait_event(arg, result);
  return rc == SPOOL_OK ? 77 : rc;
}

static void test_join(void) {
  harness_phase("join while a task is suspended");
  spool_executor *ex = harness_executor(2);
  spool_future *ev = harness_created();
  spool_future *t = harness_submit(ex, wait_event, ev);
  CHECK(HARNESS_UNTIL(harness_suspends(ex) == 1, 10));
  CHECK_EQ(spool_join(ex, 0.05), SPOOL_ETIMEDOUT);
  CHECK_EQ(spool_join(ex, 0), SPOOL_ETIMEDOUT);
  CHECK(spool_future_running(t));
  CHECK(!spool_future_done(t));
  CHECK(!spool_future_cancelled(t));
  CHECK(!spool_future_cancel(t));
  CHECK_EQ(spool_future_result(t, 0.01, NULL), SPOOL_ETIMEDOUT);
  CHECK_EQ(spool_future_set_result(ev, HARNESS_PTR(1)), SPOOL_OK);
  CHECK_EQ(spool_join(ex, 20.0 * harness_slowness()), SPOOL_OK);
  CHECK(spool_future_done(t));
  CHECK_EQ(harness_result(t, 0), 2);
  spool_future_release(t);
  spool_future_release(ev);

  harness_phase("join and a suspended fire-and-forget task's error");
  ev = harness_created();
  uint64_t s0 = harness_suspends(ex);
  CHECK_EQ(spool_submit(ex, detached_wait_then_fail, ev, NULL), SPOOL_OK);
  CHECK(HARNESS_UNTIL(harness_suspends(ex) == s0 + 1, 10));
  CHECK_EQ(spool_join(ex, 0.05), SPOOL_ETIMEDOUT);
  CHECK_EQ(spool_future_set_result(ev, NULL), SPOOL_OK);
  CHECK_EQ(spool_join(ex, 20.0 * harness_slowness()), 77);
  CHECK_EQ(spool_join(ex, 0), SPOOL_OK); /* taken by the previous join */
  spool_future_release(ev);
  spool_executor_destroy(ex);
}

/* ---- shutdown and destroy ------------------------------------------------ */

#define SUSPENDED 8

static spool_executor *shut_ex;
static spool_future *shut_events[SUSPENDED];
static _Atomic bool shutdown_returned, helper_saw_running;

/* Waits until the executor refuses submissions (shutdown has begun), checks
   that shutdown has not returned, then completes the events. */
static void *shutdown_helper(void *arg) {
  (void)arg;
  int rc;
  while ((rc = spool_submit(shut_ex, noop, NULL, NULL)) == SPOOL_OK)
    sched_yield();
  if (rc == SPOOL_ESHUTDOWN && !atomic_load(&shutdown_returned))
    atomic_store(&helper_saw_running, true);
  for (int i = 0; i < SUSPENDED; i++)
    spool_future_set_result(shut_events[i], HARNESS_PTR(i));
  return NULL;
}

static void start_suspended(spool_future **tasks) {
  uint64_t s0 = harness_suspends(shut_ex);
  for (int i = 0; i < SUSPENDED; i++) {
    shut_events[i] = harness_created();
    tasks[i] = harness_submit(shut_ex, wait_event, shut_events[i]);
  }
  CHECK(HARNESS_UNTIL(harness_suspends(shut_ex) - s0 == SUSPENDED, 10));
}

static void check_suspended_results(spool_future **tasks) {
  for (int i = 0; i < SUSPENDED; i++) {
    CHECK(spool_future_done(tasks[i]));
    CHECK_EQ(harness_result(tasks[i], 0), i + 1);
    spool_future_release(tasks[i]);
    spool_future_release(shut_events[i]);
  }
}

static void test_shutdown(void) {
  harness_phase("shutdown(wait) while tasks are suspended");
  spool_future *tasks[SUSPENDED];
  shut_ex = harness_executor(2);
  start_suspended(tasks);
  atomic_store(&shutdown_returned, false);
  atomic_store(&helper_saw_running, false);
  pthread_t th;
  CHECK(pthread_create(&th, NULL, shutdown_helper, NULL) == 0);
  CHECK_EQ(spool_shutdown(shut_ex, true, false), SPOOL_OK);
  atomic_store(&shutdown_returned, true);
  /* Returned only after the tasks resumed and finished (checked below by
     check_suspended_results: every task done, with its value). */
  pthread_join(th, NULL);
  CHECK(atomic_load(&helper_saw_running));
  check_suspended_results(tasks);
  CHECK_EQ(harness_stats(shut_ex).resumes, SUSPENDED);
  CHECK_EQ(spool_join(shut_ex, 0), SPOOL_OK);
  CHECK_EQ(spool_submit(shut_ex, noop, NULL, NULL), SPOOL_ESHUTDOWN);
  spool_executor_destroy(shut_ex);

  harness_phase("destroy while tasks are suspended");
  shut_ex = harness_executor(2);
  start_suspended(tasks);
  CHECK(pthread_create(&th, NULL, shutdown_helper, NULL) == 0);
  spool_executor_destroy(shut_ex); /* returns once they have finished */
  for (int i = 0; i < SUSPENDED; i++)
    CHECK(spool_future_done(tasks[i]));
  pthread_join(th, NULL);
  check_suspended_results(tasks);

  harness_phase("shutdown(cancel_futures) spares suspended tasks");
  shut_ex = harness_executor(1);
  start_suspended(tasks);
  atomic_store(&gate, false);
  spool_future *busy = harness_submit(shut_ex, wait_gate, HARNESS_PTR(1));
  CHECK(HARNESS_UNTIL(spool_future_running(busy), 10));
  spool_future *queued = harness_submit(shut_ex, noop, NULL); /* the worker is busy */
  CHECK_EQ(spool_shutdown(shut_ex, false, true), SPOOL_OK);
  CHECK(spool_future_cancelled(queued));
  for (int i = 0; i < SUSPENDED; i++)
    CHECK(spool_future_running(tasks[i]) && !spool_future_cancelled(tasks[i]));
  CHECK(spool_future_running(busy));
  atomic_store(&gate, true);
  for (int i = 0; i < SUSPENDED; i++)
    CHECK_EQ(spool_future_set_result(shut_events[i], HARNESS_PTR(i)), SPOOL_OK);
  CHECK_EQ(spool_shutdown(shut_ex, true, false), SPOOL_OK);
  check_suspended_results(tasks);
  CHECK_EQ(harness_result(busy, 0), 1);
  spool_future_release(busy);
  spool_future_release(queued);
  spool_executor_destroy(shut_ex);
}

int main(void) {
  test_outside();
  test_odd_futures();
  test_cross_executor();
  test_join();
  test_shutdown();
  harness_watchdog_off();
  return harness_report();
}
