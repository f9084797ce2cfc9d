/* Futures of tasks: states, result and exception with timeouts, cancel. */
#include <errno.h>

#include "suite.h"

SPOOL_SUITE(future);

/* One worker held by a blocker, so that tasks submitted after it stay
   PENDING until the test releases it. */
typedef struct held {
  spool_executor *ex;
  blocker b;
  spool_future *bf;
} held;

static void hold_the_worker(held *h) {
  h->ex = executor_with(1);
  cr_assert_not_null(h->ex);
  blocker_init(&h->b, &h->b);
  cr_assert_eq(spool_submit(h->ex, task_block, &h->b, &h->bf), SPOOL_OK);
  cr_assert(await_at_least(&h->b.started, 1, TEST_SETTLE_S), "the blocker never started");
}

static void release_and_destroy(held *h) {
  blocker_release(&h->b);
  spool_executor_destroy(h->ex);
  spool_future_release(h->bf);
  blocker_destroy(&h->b);
}

Test(future, states_pending_running_finished) {
  held h;
  hold_the_worker(&h);
  /* the blocker is running */
  cr_assert(spool_future_running(h.bf));
  cr_assert(!spool_future_done(h.bf));
  cr_assert(!spool_future_cancelled(h.bf));

  static int v;
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(h.ex, task_return_arg, &v, &f), SPOOL_OK);
  /* queued behind it: pending */
  cr_assert(!spool_future_running(f));
  cr_assert(!spool_future_done(f));
  cr_assert(!spool_future_cancelled(f));

  blocker_release(&h.b);
  void *r = NULL;
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, &r), SPOOL_OK);
  cr_assert_eq(r, &v);
  cr_assert(spool_future_done(f));
  cr_assert(!spool_future_running(f));
  cr_assert(!spool_future_cancelled(f));
  cr_assert_eq(spool_future_result(h.bf, SPOOL_FOREVER, &r), SPOOL_OK);
  cr_assert_eq(r, &h.b);
  cr_assert(spool_future_done(h.bf));
  cr_assert(!spool_future_running(h.bf));
  spool_future_release(f);
  release_and_destroy(&h);
}

Test(future, result_times_out_on_a_running_task) {
  held h;
  hold_the_worker(&h);
  void *r = &r;
  double t0 = now_s();
  cr_assert_eq(spool_future_result(h.bf, 0.1, &r), SPOOL_ETIMEDOUT);
  double waited = now_s() - t0;
  cr_assert_null(r);
  cr_assert_geq(waited, 0.09, "returned after %.3f s of a 0.1 s timeout", waited);
  cr_assert_eq(spool_future_exception(h.bf, 0.05), SPOOL_ETIMEDOUT);
  /* 0 polls */
  r = &r;
  cr_assert_eq(spool_future_result(h.bf, 0, &r), SPOOL_ETIMEDOUT);
  cr_assert_null(r);
  cr_assert_eq(spool_future_exception(h.bf, 0), SPOOL_ETIMEDOUT);
  /* the timeouts changed nothing */
  cr_assert(spool_future_running(h.bf));
  release_and_destroy(&h);
}

Test(future, result_times_out_on_a_pending_task) {
  held h;
  hold_the_worker(&h);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(h.ex, task_return_arg, NULL, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, 0.05, NULL), SPOOL_ETIMEDOUT);
  cr_assert_eq(spool_future_exception(f, 0), SPOOL_ETIMEDOUT);
  cr_assert(!spool_future_done(f));
  cr_assert(!spool_future_running(f)); /* a timed wait from outside runs nothing */
  blocker_release(&h.b);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  spool_future_release(f);
  release_and_destroy(&h);
}

static int sleep_then_return(void *arg, void **result) {
  sleep_s(0.2);
  *result = arg;
  return 0;
}

Test(future, any_negative_timeout_waits_forever) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  static int v;
  const double timeouts[] = {SPOOL_FOREVER, -0.001, -1e9};
  for (int i = 0; i < 3; i++) {
    spool_future *f = NULL;
    cr_assert_eq(spool_submit(ex, sleep_then_return, &v, &f), SPOOL_OK);
    void *r = NULL;
    cr_assert_eq(spool_future_result(f, timeouts[i], &r), SPOOL_OK, "timeout %g", timeouts[i]);
    cr_assert_eq(r, &v);
    spool_future_release(f);
  }
  spool_executor_destroy(ex);
}

Test(future, done_future_returns_at_once_with_zero_timeout) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)-EIO, &f), SPOOL_OK);
  cr_assert_eq(spool_future_exception(f, SPOOL_FOREVER), -EIO);
  cr_assert_eq(spool_future_exception(f, 0), -EIO);
  cr_assert_eq(spool_future_result(f, 0, NULL), -EIO);
  spool_future_release(f);
  spool_executor_destroy(ex);
}

/* ---- Cancel -------------------------------------------------------------- */

Test(future, cancel_a_pending_task) {
  held h;
  hold_the_worker(&h);
  atomic_long ran = 0;
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(h.ex, task_count, &ran, &f), SPOOL_OK);
  cr_assert(spool_future_cancel(f));
  cr_assert(spool_future_cancelled(f));
  cr_assert(spool_future_done(f));
  cr_assert(!spool_future_running(f));
  cr_assert(spool_future_cancel(f)); /* again: still cancelled */
  void *r = &r;
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, &r), SPOOL_ECANCELLED);
  cr_assert_null(r);
  cr_assert_eq(spool_future_exception(f, 0), SPOOL_ECANCELLED);
  blocker_release(&h.b);
  cr_assert_eq(spool_join(h.ex, SPOOL_FOREVER), SPOOL_OK);
  spool_executor_destroy(h.ex);
  cr_assert_eq(atomic_load(&ran), 0, "a cancelled task ran");
  cr_assert(spool_future_cancelled(f));
  spool_future_release(f);
  spool_future_release(h.bf);
  blocker_destroy(&h.b);
}

Test(future, cancel_fails_on_running_and_finished_tasks) {
  held h;
  hold_the_worker(&h);
  cr_assert(!spool_future_cancel(h.bf));
  cr_assert(!spool_future_cancelled(h.bf));
  cr_assert(spool_future_running(h.bf));
  blocker_release(&h.b);
  cr_assert_eq(spool_future_result(h.bf, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert(!spool_future_cancel(h.bf));
  cr_assert(!spool_future_cancelled(h.bf));
  cr_assert_eq(spool_future_result(h.bf, 0, NULL), SPOOL_OK);
  spool_executor_destroy(h.ex);
  spool_future_release(h.bf);
  blocker_destroy(&h.b);
}

Test(future, cancelled_tasks_are_skipped_others_run) {
  held h;
  hold_the_worker(&h);
  atomic_long ran[10];
  spool_future *fs[10];
  for (int i = 0; i < 10; i++) {
    atomic_init(&ran[i], 0);
    cr_assert_eq(spool_submit(h.ex, task_count, &ran[i], &fs[i]), SPOOL_OK);
  }
  for (int i = 0; i < 10; i += 2)
    cr_assert(spool_future_cancel(fs[i]));
  blocker_release(&h.b);
  for (int i = 0; i < 10; i++) {
    int rc = spool_future_result(fs[i], SPOOL_FOREVER, NULL);
    cr_assert_eq(rc, i % 2 ? SPOOL_OK : SPOOL_ECANCELLED, "task %d", i);
  }
  cr_assert_eq(spool_join(h.ex, SPOOL_FOREVER), SPOOL_OK);
  for (int i = 0; i < 10; i++) {
    cr_assert_eq(atomic_load(&ran[i]), i % 2, "task %d", i);
    spool_future_release(fs[i]);
  }
  release_and_destroy(&h);
}

Test(future, cancel_after_destroy_keeps_the_state) {
  held h;
  hold_the_worker(&h);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(h.ex, task_return_arg, NULL, &f), SPOOL_OK);
  blocker_release(&h.b);
  spool_executor_destroy(h.ex); /* runs f */
  cr_assert(spool_future_done(f));
  cr_assert(!spool_future_cancel(f));
  cr_assert(!spool_future_cancelled(f));
  spool_future_release(f);
  spool_future_release(h.bf);
  blocker_destroy(&h.b);
}

Test(future, retain_and_release) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  spool_future *f = NULL;
  static int v;
  cr_assert_eq(spool_submit(ex, task_return_arg, &v, &f), SPOOL_OK);
  spool_future_retain(f);
  spool_future_retain(f);
  spool_future_release(f);
  void *r = NULL;
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, &r), SPOOL_OK);
  cr_assert_eq(r, &v);
  spool_future_release(f);
  /* one reference left: still valid */
  cr_assert(spool_future_done(f));
  spool_future_release(f);
  spool_executor_destroy(ex);
}

/* The task's own reference keeps a future alive when the caller drops its
   reference at once. */
Test(future, release_before_completion) {
  held h;
  hold_the_worker(&h);
  atomic_long ran = 0;
  for (int i = 0; i < 100; i++) {
    spool_future *f = NULL;
    cr_assert_eq(spool_submit(h.ex, task_count, &ran, &f), SPOOL_OK);
    spool_future_release(f);
  }
  blocker_release(&h.b);
  cr_assert_eq(spool_join(h.ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&ran), 100);
  release_and_destroy(&h);
}

/* A task cancels a child it queued; join and the counts stay right. */
typedef struct parent_cancel {
  spool_executor *ex;
  atomic_long child_ran;
  bool cancelled, child_cancelled_state;
} parent_cancel;

static int cancel_own_child(void *arg, void **result) {
  (void)result;
  parent_cancel *p = arg;
  spool_future *f = NULL;
  if (spool_submit(p->ex, task_count, &p->child_ran, &f) != SPOOL_OK) return -1;
  p->cancelled = spool_future_cancel(f); /* one worker: the child is still queued */
  p->child_cancelled_state = spool_future_cancelled(f);
  spool_future_release(f);
  return 0;
}

Test(future, cancel_from_a_task) {
  parent_cancel p = {.ex = executor_with(1)};
  cr_assert_not_null(p.ex);
  for (int i = 0; i < 50; i++) {
    spool_future *f = NULL;
    cr_assert_eq(spool_submit(p.ex, cancel_own_child, &p, &f), SPOOL_OK);
    cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
    cr_assert(p.cancelled);
    cr_assert(p.child_cancelled_state);
    cr_assert_eq(spool_join(p.ex, 10.0), SPOOL_OK);
    spool_future_release(f);
  }
  cr_assert_eq(atomic_load(&p.child_ran), 0);
  spool_executor_destroy(p.ex);
}
