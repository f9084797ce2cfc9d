/* The deadlock of Python's documentation cannot happen: on ONE worker, a
 * task that submits another and waits for it claims the queued task and
 * runs it inline, with every blocking wait (result, exception, spool_wait
 * in each mode, as_completed_next) and any timeout but 0 (changed 2026-12:
 * the first version ran nothing inline with a finite timeout or another
 * mode, and timed out or hung). A timeout of 0 polls and runs nothing. */
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

/* A finite timeout runs the queued subtask inline too: on one worker it
   completes instead of timing out (the first version timed out). */
typedef struct timed {
  double timeout;
  int rc;
  bool sub_done_then;
} timed;

static int wait_with_timeout(void *arg, void **result) {
  (void)result;
  timed *t = arg;
  spool_future *f = NULL;
  int rc = spool_submit(g_ex, five, NULL, &f);
  if (rc != SPOOL_OK) return rc;
  t->rc = spool_future_result(f, t->timeout, NULL);
  t->sub_done_then = spool_future_done(f);
  spool_future_release(f);
  return 0;
}

static spool_stats run_timed(timed *t) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(g_ex, wait_with_timeout, t, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(spool_join(g_ex, SPOOL_FOREVER), SPOOL_OK);
  spool_stats st;
  cr_assert_eq(spool_stats_read(g_ex, -1, &st), SPOOL_OK);
  spool_future_release(f);
  spool_executor_destroy(g_ex);
  return st;
}

Test(footgun, finite_timeout_runs_the_queued_task_inline) {
  const double timeouts[] = {2.0, 1e-9, 3600.0};
  for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
    timed t = {timeouts[i], 1, false};
    spool_stats st = run_timed(&t);
    cr_assert_eq(t.rc, SPOOL_OK, "timeout %g: %d", timeouts[i], t.rc);
    cr_assert(t.sub_done_then);
    cr_assert_eq(st.inline_claims, 1u);
    cr_assert_eq(st.tasks_run, 2u);
  }
}

Test(footgun, timeout_zero_runs_nothing_inline) {
  timed t = {0.0, 1, true};
  spool_stats st = run_timed(&t);
  cr_assert_eq(t.rc, SPOOL_ETIMEDOUT);
  cr_assert(!t.sub_done_then);
  cr_assert_eq(st.inline_claims, 0u);
  cr_assert_eq(st.tasks_run, 2u); /* the subtask runs afterwards */
}

/* Every mode of spool_wait, with each timeout but 0, on one worker: queued
   awaited tasks run inline one at a time, in array order, until the
   condition holds, and no further. */
typedef struct modes {
  spool_return_when when;
  double timeout;
  int codes[3]; /* the subtasks' codes */
  int rc;
  size_t ndone;
  bool done[3];    /* by original index, when the wait returned */
  size_t order[3]; /* original index of fs[i] after the wait */
} modes;

static int return_code(void *arg, void **result) {
  (void)result;
  return (int)(intptr_t)arg;
}

static int wait_mode_on_subtasks(void *arg, void **result) {
  (void)result;
  modes *m = arg;
  spool_future *fs[3], *orig[3];
  for (int i = 0; i < 3; i++) {
    if (spool_submit(g_ex, return_code, (void *)(intptr_t)m->codes[i], &fs[i]) != SPOOL_OK)
      return -1;
    orig[i] = fs[i];
  }
  m->rc = spool_wait(fs, 3, m->timeout, m->when, &m->ndone);
  for (int i = 0; i < 3; i++) {
    m->done[i] = spool_future_done(orig[i]);
    for (int k = 0; k < 3; k++)
      if (fs[i] == orig[k]) m->order[i] = (size_t)k;
  }
  for (int i = 0; i < 3; i++)
    spool_future_release(fs[i]);
  return 0;
}

static void run_mode(modes *m) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(g_ex, wait_mode_on_subtasks, m, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  spool_future_release(f);
  spool_executor_destroy(g_ex);
}

Test(footgun, every_wait_mode_runs_queued_tasks_inline_in_order) {
  const double timeouts[] = {SPOOL_FOREVER, 5.0};
  for (size_t t = 0; t < 2; t++) {
    modes all = {SPOOL_ALL_COMPLETED, timeouts[t], {0, 0, 0}, 1, 0, {0}, {0}};
    run_mode(&all);
    cr_assert_eq(all.rc, SPOOL_OK);
    cr_assert_eq(all.ndone, 3u);

    /* FIRST_COMPLETED: only the first runs. */
    modes first = {SPOOL_FIRST_COMPLETED, timeouts[t], {0, 0, 0}, 1, 0, {0}, {0}};
    run_mode(&first);
    cr_assert_eq(first.rc, SPOOL_OK, "FIRST_COMPLETED, timeout %g", timeouts[t]);
    cr_assert_eq(first.ndone, 1u);
    cr_assert(first.done[0] && !first.done[1] && !first.done[2]);
    cr_assert_eq(first.order[0], 0u);

    /* FIRST_EXCEPTION: runs up to the failing one, then stops. */
    modes exc = {SPOOL_FIRST_EXCEPTION, timeouts[t], {0, -7, 0}, 1, 0, {0}, {0}};
    run_mode(&exc);
    cr_assert_eq(exc.rc, SPOOL_OK, "FIRST_EXCEPTION, timeout %g", timeouts[t]);
    cr_assert_eq(exc.ndone, 2u);
    cr_assert(exc.done[0] && exc.done[1] && !exc.done[2]);
    cr_assert_eq(exc.order[0], 0u);
    cr_assert_eq(exc.order[1], 1u);
    cr_assert_eq(exc.order[2], 2u);

    /* FIRST_EXCEPTION with no failure: all of them. */
    modes none = {SPOOL_FIRST_EXCEPTION, timeouts[t], {0, 0, 0}, 1, 0, {0}, {0}};
    run_mode(&none);
    cr_assert_eq(none.rc, SPOOL_OK);
    cr_assert_eq(none.ndone, 3u);
  }
  /* A timeout of 0 polls: nothing runs. */
  modes poll = {SPOOL_FIRST_COMPLETED, 0.0, {0, 0, 0}, 1, 0, {0}, {0}};
  run_mode(&poll);
  cr_assert_eq(poll.rc, SPOOL_ETIMEDOUT);
  cr_assert_eq(poll.ndone, 0u);
}

/* as_completed_next on one worker: each call runs the next queued task
   (array order) inline, one at a time, and returns it. */
typedef struct iter {
  double timeout;
  int rc[4];
  int index[3];         /* original index of each returned future */
  int done_after_first; /* how many were done after the first next */
} iter;

static int as_completed_on_subtasks(void *arg, void **result) {
  (void)result;
  iter *it = arg;
  spool_future *fs[3];
  for (int i = 0; i < 3; i++)
    if (spool_submit(g_ex, return_code, (void *)(intptr_t)0, &fs[i]) != SPOOL_OK) return -1;
  spool_as_completed *ac = NULL;
  if (spool_as_completed_begin(&ac, fs, 3) != SPOOL_OK) return -2;
  for (int k = 0; k < 4; k++) {
    spool_future *next = NULL;
    it->rc[k] = spool_as_completed_next(ac, it->timeout, &next);
    if (k < 3) {
      it->index[k] = -1;
      for (int i = 0; i < 3; i++)
        if (next == fs[i]) it->index[k] = i;
    }
    if (k == 0)
      for (int i = 0; i < 3; i++)
        it->done_after_first += spool_future_done(fs[i]);
  }
  spool_as_completed_end(ac);
  for (int i = 0; i < 3; i++)
    spool_future_release(fs[i]);
  return 0;
}

Test(footgun, as_completed_next_runs_queued_tasks_inline_one_at_a_time) {
  const double timeouts[] = {SPOOL_FOREVER, 5.0};
  for (size_t t = 0; t < 2; t++) {
    iter it = {timeouts[t], {1, 1, 1, 1}, {0}, 0};
    g_ex = executor_with(1);
    cr_assert_not_null(g_ex);
    spool_future *f = NULL;
    cr_assert_eq(spool_submit(g_ex, as_completed_on_subtasks, &it, &f), SPOOL_OK);
    cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
    spool_future_release(f);
    spool_executor_destroy(g_ex);
    for (int k = 0; k < 3; k++) {
      cr_assert_eq(it.rc[k], SPOOL_OK, "next #%d, timeout %g", k, timeouts[t]);
      cr_assert_eq(it.index[k], k);
    }
    cr_assert_eq(it.rc[3], SPOOL_EEXHAUSTED);
    cr_assert_eq(it.done_after_first, 1);
  }
}

/* exception() with a finite timeout runs the queued task inline too. */
static int exception_with_timeout(void *arg, void **result) {
  (void)arg;
  (void)result;
  spool_future *f = NULL;
  int rc = spool_submit(g_ex, fail_eio, NULL, &f);
  if (rc != SPOOL_OK) return rc;
  rc = spool_future_exception(f, 2.0);
  spool_future_release(f);
  return rc == -5 ? 0 : -1000 + rc;
}

Test(footgun, exception_with_finite_timeout_on_one_worker) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(g_ex, exception_with_timeout, NULL, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
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
