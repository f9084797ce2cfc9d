/* The deadlock of Python's documentation cannot happen: on ONE worker, a
 * task that submits another and waits for it with SPOOL_FOREVER claims the
 * queued task and runs it inline (result, exception, wait ALL_COMPLETED).
 * With a finite timeout nothing runs inline, so that wait times out. */
#include "suite.h"

SPOOL_SUITE(footgun);

static spool_executor *g_ex;

static int five(void *arg, void **result) {
  (void)arg;
  *result = (void *)(intptr_t)5;
  return 0;
}

static int fail_eio(void *arg, void **result) {
  (void)arg;
  (void)result;
  return -5;
}

/* Python's example: a task waits for the result of a task it submitted. */
static int wait_on_own_subtask(void *arg, void **result) {
  (void)arg;
  spool_future *f = NULL;
  int rc = spool_submit(g_ex, five, NULL, &f);
  if (rc != SPOOL_OK) return rc;
  void *r = NULL;
  rc = spool_future_result(f, SPOOL_FOREVER, &r);
  spool_future_release(f);
  if (rc != SPOOL_OK) return rc;
  *result = (void *)((intptr_t)r * (intptr_t)r);
  return 0;
}

Test(footgun, result_of_own_subtask_on_one_worker) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(g_ex, wait_on_own_subtask, NULL, &f), SPOOL_OK);
  void *r = NULL;
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, &r), SPOOL_OK);
  cr_assert_eq((intptr_t)r, 25);
  spool_stats st;
  cr_assert_eq(spool_stats_read(g_ex, -1, &st), SPOOL_OK);
  cr_assert_geq(st.inline_claims, 1u);
  cr_assert_eq(st.tasks_run, 2u);
  spool_future_release(f);
  spool_executor_destroy(g_ex);
}

static int exception_of_own_subtask(void *arg, void **result) {
  (void)arg;
  (void)result;
  spool_future *f = NULL;
  int rc = spool_submit(g_ex, fail_eio, NULL, &f);
  if (rc != SPOOL_OK) return rc;
  rc = spool_future_exception(f, SPOOL_FOREVER);
  spool_future_release(f);
  return rc == -5 ? 0 : -1000 + rc;
}

Test(footgun, exception_of_own_subtask_on_one_worker) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(g_ex, exception_of_own_subtask, NULL, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  spool_future_release(f);
  spool_executor_destroy(g_ex);
}

static int wait_all_on_own_subtasks(void *arg, void **result) {
  (void)arg;
  spool_future *fs[8];
  for (int i = 0; i < 8; i++)
    if (spool_submit(g_ex, five, NULL, &fs[i]) != SPOOL_OK) return -1;
  size_t nd = 0;
  int rc = spool_wait(fs, 8, SPOOL_FOREVER, SPOOL_ALL_COMPLETED, &nd);
  intptr_t sum = 0;
  for (int i = 0; i < 8; i++) {
    void *r = NULL;
    if (spool_future_result(fs[i], 0, &r) == SPOOL_OK) sum += (intptr_t)r;
    spool_future_release(fs[i]);
  }
  *result = (void *)sum;
  return rc == SPOOL_OK && nd == 8 ? 0 : -2;
}

Test(footgun, wait_all_completed_on_own_subtasks_on_one_worker) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(g_ex, wait_all_on_own_subtasks, NULL, &f), SPOOL_OK);
  void *r = NULL;
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, &r), SPOOL_OK);
  cr_assert_eq((intptr_t)r, 40);
  spool_future_release(f);
  spool_executor_destroy(g_ex);
}

/* A chain: each level submits the next and waits for it. */
static int nested(void *arg, void **result) {
  intptr_t depth = (intptr_t)arg;
  if (depth == 0) {
    *result = (void *)(intptr_t)1;
    return 0;
  }
  spool_future *f = NULL;
  int rc = spool_submit(g_ex, nested, (void *)(depth - 1), &f);
  if (rc != SPOOL_OK) return rc;
  void *r = NULL;
  rc = spool_future_result(f, SPOOL_FOREVER, &r);
  spool_future_release(f);
  *result = (void *)((intptr_t)r + 1);
  return rc;
}

Test(footgun, nested_chain_on_one_worker) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(g_ex, nested, (void *)(intptr_t)100, &f), SPOOL_OK);
  void *r = NULL;
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, &r), SPOOL_OK);
  cr_assert_eq((intptr_t)r, 101);
  spool_future_release(f);
  spool_executor_destroy(g_ex);
}

/* A long loop of submit-then-result in one task. */
static int submit_result_loop(void *arg, void **result) {
  intptr_t n = (intptr_t)arg, sum = 0;
  for (intptr_t i = 0; i < n; i++) {
    spool_future *f = NULL;
    if (spool_submit(g_ex, five, NULL, &f) != SPOOL_OK) return -1;
    void *r = NULL;
    if (spool_future_result(f, SPOOL_FOREVER, &r) != SPOOL_OK) return -2;
    spool_future_release(f);
    sum += (intptr_t)r;
  }
  *result = (void *)sum;
  return 0;
}

Test(footgun, submit_then_result_loop) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(g_ex, submit_result_loop, (void *)(intptr_t)20000, &f), SPOOL_OK);
  void *r = NULL;
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, &r), SPOOL_OK);
  cr_assert_eq((intptr_t)r, 100000);
  spool_future_release(f);
  spool_executor_destroy(g_ex);
}

/* With a finite timeout nothing runs inline: on one worker the subtask
   cannot start while its parent holds the worker. */
typedef struct timed {
  int rc;
  bool sub_done_then;
} timed;

static int wait_with_timeout(void *arg, void **result) {
  (void)result;
  timed *t = arg;
  spool_future *f = NULL;
  int rc = spool_submit(g_ex, five, NULL, &f);
  if (rc != SPOOL_OK) return rc;
  t->rc = spool_future_result(f, 0.1, NULL);
  t->sub_done_then = spool_future_done(f);
  spool_future_release(f);
  return 0;
}

Test(footgun, finite_timeout_runs_nothing_inline) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  timed t = {1, true};
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(g_ex, wait_with_timeout, &t, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(t.rc, SPOOL_ETIMEDOUT);
  cr_assert(!t.sub_done_then);
  cr_assert_eq(spool_join(g_ex, SPOOL_FOREVER), SPOOL_OK); /* the subtask runs afterwards */
  spool_stats st;
  cr_assert_eq(spool_stats_read(g_ex, -1, &st), SPOOL_OK);
  cr_assert_eq(st.inline_claims, 0u);
  cr_assert_eq(st.tasks_run, 2u);
  spool_future_release(f);
  spool_executor_destroy(g_ex);
}

/* Waiting on a task queued in ANOTHER executor (from a worker of this
   one) is a wait from outside: nothing runs inline there, but the other
   executor's workers run it. */
static spool_executor *g_other;

static int wait_on_other_executor(void *arg, void **result) {
  (void)arg;
  spool_future *f = NULL;
  int rc = spool_submit(g_other, five, NULL, &f);
  if (rc != SPOOL_OK) return rc;
  rc = spool_future_result(f, SPOOL_FOREVER, result);
  spool_future_release(f);
  return rc;
}

Test(footgun, waiting_on_another_executor) {
  g_ex = executor_with(1);
  g_other = executor_with(1);
  cr_assert(g_ex && g_other);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(g_ex, wait_on_other_executor, NULL, &f), SPOOL_OK);
  void *r = NULL;
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, &r), SPOOL_OK);
  cr_assert_eq((intptr_t)r, 5);
  spool_stats st;
  cr_assert_eq(spool_stats_read(g_ex, -1, &st), SPOOL_OK);
  cr_assert_eq(st.inline_claims, 0u, "a task of another executor was run inline");
  spool_future_release(f);
  spool_executor_destroy(g_ex);
  spool_executor_destroy(g_other);
}
