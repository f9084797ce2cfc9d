/* spool_wait (ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION) and the
 * as_completed iterator. Created futures make completion order exact. */
#include <pthread.h>

#include "suite.h"

SPOOL_SUITE(wait);

static void make(spool_future **fs, size_t n) {
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(spool_future_create(&fs[i]), SPOOL_OK);
}

static void drop(spool_future **fs, size_t n) {
  for (size_t i = 0; i < n; i++)
    spool_future_release(fs[i]);
}

Test(wait, all_completed_when_all_are_done) {
  spool_future *fs[5], *orig[5];
  make(fs, 5);
  for (int i = 0; i < 5; i++) {
    orig[i] = fs[i];
    spool_future_set_result(fs[i], NULL);
  }
  size_t nd = 99;
  cr_assert_eq(spool_wait(fs, 5, SPOOL_FOREVER, SPOOL_ALL_COMPLETED, &nd), SPOOL_OK);
  cr_assert_eq(nd, 5u);
  for (int i = 0; i < 5; i++)
    cr_assert_eq(fs[i], orig[i], "order changed although all were done");
  drop(fs, 5);
}

Test(wait, all_completed_times_out_and_partitions_stably) {
  spool_future *fs[6], *orig[6];
  make(fs, 6);
  for (int i = 0; i < 6; i++)
    orig[i] = fs[i];
  spool_future_set_result(orig[1], NULL);
  spool_future_set_exception(orig[4], -3);
  cr_assert(spool_future_cancel(orig[5]));
  size_t nd = 99;
  double t0 = now_s();
  cr_assert_eq(spool_wait(fs, 6, 0.1, SPOOL_ALL_COMPLETED, &nd), SPOOL_ETIMEDOUT);
  cr_assert_geq(now_s() - t0, 0.09);
  cr_assert_eq(nd, 3u);
  /* done first, in their original order; then the others, in theirs */
  spool_future *expect[6] = {orig[1], orig[4], orig[5], orig[0], orig[2], orig[3]};
  for (int i = 0; i < 6; i++)
    cr_assert_eq(fs[i], expect[i], "position %d", i);
  /* timeout 0 polls */
  cr_assert_eq(spool_wait(fs, 6, 0, SPOOL_ALL_COMPLETED, &nd), SPOOL_ETIMEDOUT);
  cr_assert_eq(nd, 3u);
  drop(fs, 6);
}

Test(wait, first_completed_returns_done_ones_first) {
  spool_future *fs[5], *orig[5];
  make(fs, 5);
  for (int i = 0; i < 5; i++)
    orig[i] = fs[i];
  spool_future_set_result(orig[2], NULL);
  spool_future_set_result(orig[4], NULL);
  size_t nd = 0;
  cr_assert_eq(spool_wait(fs, 5, SPOOL_FOREVER, SPOOL_FIRST_COMPLETED, &nd), SPOOL_OK);
  cr_assert_eq(nd, 2u);
  spool_future *expect[5] = {orig[2], orig[4], orig[0], orig[1], orig[3]};
  for (int i = 0; i < 5; i++)
    cr_assert_eq(fs[i], expect[i], "position %d", i);
  drop(fs, 5);
}

typedef struct delayed {
  spool_future *f;
  int error; /* 0: set_result; -1: cancel; else set_exception */
  double after;
  atomic_long go;
} delayed;

static void *complete_after(void *arg) {
  delayed *d = arg;
  while (!atomic_load(&d->go))
    sched_yield();
  sleep_s(d->after);
  if (d->error == 0)
    spool_future_set_result(d->f, NULL);
  else if (d->error == -1)
    spool_future_cancel(d->f);
  else
    spool_future_set_exception(d->f, d->error);
  return NULL;
}

Test(wait, first_completed_blocks_until_one_completes) {
  spool_future *fs[4], *orig[4];
  make(fs, 4);
  for (int i = 0; i < 4; i++)
    orig[i] = fs[i];
  delayed d = {orig[3], 0, 0.05, 1};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, complete_after, &d), 0);
  size_t nd = 0;
  cr_assert_eq(spool_wait(fs, 4, 10.0, SPOOL_FIRST_COMPLETED, &nd), SPOOL_OK);
  cr_assert_eq(nd, 1u);
  cr_assert_eq(fs[0], orig[3]);
  cr_assert_eq(fs[1], orig[0]);
  cr_assert_eq(fs[2], orig[1]);
  cr_assert_eq(fs[3], orig[2]);
  pthread_join(t, NULL);
  /* a cancel counts as completed */
  spool_future *g[2];
  make(g, 2);
  delayed c = {g[1], -1, 0.05, 1};
  cr_assert_eq(pthread_create(&t, NULL, complete_after, &c), 0);
  cr_assert_eq(spool_wait(g, 2, 10.0, SPOOL_FIRST_COMPLETED, &nd), SPOOL_OK);
  cr_assert_eq(nd, 1u);
  cr_assert(spool_future_cancelled(g[0]));
  pthread_join(t, NULL);
  drop(g, 2);
  drop(fs, 4);
}

Test(wait, first_completed_times_out) {
  spool_future *fs[3];
  make(fs, 3);
  size_t nd = 99;
  double t0 = now_s();
  cr_assert_eq(spool_wait(fs, 3, 0.1, SPOOL_FIRST_COMPLETED, &nd), SPOOL_ETIMEDOUT);
  cr_assert_geq(now_s() - t0, 0.09);
  cr_assert_eq(nd, 0u);
  drop(fs, 3);
}

Test(wait, first_exception_returns_on_an_error) {
  spool_future *fs[4], *orig[4];
  make(fs, 4);
  for (int i = 0; i < 4; i++)
    orig[i] = fs[i];
  spool_future_set_result(orig[0], NULL);
  delayed d = {orig[2], -9, 0.05, 1};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, complete_after, &d), 0);
  size_t nd = 0;
  cr_assert_eq(spool_wait(fs, 4, 10.0, SPOOL_FIRST_EXCEPTION, &nd), SPOOL_OK);
  pthread_join(t, NULL);
  cr_assert_eq(nd, 2u);
  cr_assert_eq(fs[0], orig[0]);
  cr_assert_eq(fs[1], orig[2]);
  cr_assert_eq(fs[2], orig[1]);
  cr_assert_eq(fs[3], orig[3]);
  drop(fs, 4);
}

Test(wait, first_exception_without_error_waits_for_all) {
  spool_future *fs[3];
  make(fs, 3);
  spool_future_set_result(fs[0], NULL);
  size_t nd = 0;
  /* one successful completion is not enough */
  cr_assert_eq(spool_wait(fs, 3, 0.05, SPOOL_FIRST_EXCEPTION, &nd), SPOOL_ETIMEDOUT);
  cr_assert_eq(nd, 1u);
  spool_future_set_result(fs[1], NULL);
  spool_future_set_result(fs[2], NULL);
  cr_assert_eq(spool_wait(fs, 3, 10.0, SPOOL_FIRST_EXCEPTION, &nd), SPOOL_OK);
  cr_assert_eq(nd, 3u);
  drop(fs, 3);
}

Test(wait, cancelled_is_not_an_exception) {
  spool_future *fs[3], *orig[3];
  make(fs, 3);
  for (int i = 0; i < 3; i++)
    orig[i] = fs[i];
  cr_assert(spool_future_cancel(orig[1]));
  size_t nd = 0;
  cr_assert_eq(spool_wait(fs, 3, 0.1, SPOOL_FIRST_EXCEPTION, &nd), SPOOL_ETIMEDOUT);
  cr_assert_eq(nd, 1u);
  cr_assert_eq(fs[0], orig[1]);
  /* all done, one cancelled, none failed: returns (all completed) */
  spool_future_set_result(orig[0], NULL);
  spool_future_set_result(orig[2], NULL);
  cr_assert_eq(spool_wait(fs, 3, 10.0, SPOOL_FIRST_EXCEPTION, &nd), SPOOL_OK);
  cr_assert_eq(nd, 3u);
  drop(fs, 3);
}

Test(wait, with_tasks) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  enum { N = 200 };
  spool_future *fs[N];
  for (int i = 0; i < N; i++)
    cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)(i == 150 ? -4 : 0), &fs[i]),
                 SPOOL_OK);
  size_t nd = 0;
  cr_assert_eq(spool_wait(fs, N, SPOOL_FOREVER, SPOOL_ALL_COMPLETED, &nd), SPOOL_OK);
  cr_assert_eq(nd, (size_t)N);
  int failed = 0;
  for (int i = 0; i < N; i++) {
    cr_assert(spool_future_done(fs[i]));
    failed += spool_future_exception(fs[i], 0) == -4;
    spool_future_release(fs[i]);
  }
  cr_assert_eq(failed, 1);
  spool_executor_destroy(ex);
}

Test(wait, zero_futures) {
  size_t nd = 99;
  cr_assert_eq(spool_wait(NULL, 0, SPOOL_FOREVER, SPOOL_ALL_COMPLETED, &nd), SPOOL_OK);
  cr_assert_eq(nd, 0u);
  nd = 99;
  spool_future *none[1] = {NULL};
  cr_assert_eq(spool_wait(none, 0, SPOOL_FOREVER, SPOOL_FIRST_COMPLETED, &nd), SPOOL_OK);
  cr_assert_eq(nd, 0u);
  cr_assert_eq(spool_wait(NULL, 0, 0, SPOOL_FIRST_EXCEPTION, &nd), SPOOL_OK);
}

Test(wait, invalid_return_when) {
  spool_future *f = NULL;
  make(&f, 1);
  size_t nd = 99;
  cr_assert_eq(spool_wait(&f, 1, 0, (spool_return_when)17, &nd), SPOOL_EINVAL);
  drop(&f, 1);
}

/* ---- as_completed -------------------------------------------------------- */

Test(wait, as_completed_yields_in_completion_order) {
  spool_future *fs[4];
  make(fs, 4);
  spool_as_completed *it = NULL;
  cr_assert_eq(spool_as_completed_begin(&it, fs, 4), SPOOL_OK);
  cr_assert_not_null(it);
  const int order[4] = {2, 0, 3, 1};
  for (int k = 0; k < 4; k++) {
    spool_future *next = NULL;
    /* nothing new is done yet */
    cr_assert_eq(spool_as_completed_next(it, 0, &next), SPOOL_ETIMEDOUT);
    cr_assert_null(next);
    if (k == 3)
      cr_assert(spool_future_cancel(fs[order[k]]));
    else
      spool_future_set_result(fs[order[k]], NULL);
    cr_assert_eq(spool_as_completed_next(it, 10.0, &next), SPOOL_OK);
    cr_assert_eq(next, fs[order[k]], "step %d", k);
  }
  spool_future *next = fs[0];
  cr_assert_eq(spool_as_completed_next(it, SPOOL_FOREVER, &next), SPOOL_EEXHAUSTED);
  cr_assert_null(next);
  cr_assert_eq(spool_as_completed_next(it, 0, &next), SPOOL_EEXHAUSTED);
  spool_as_completed_end(it);
  drop(fs, 4);
}

Test(wait, as_completed_blocks_for_a_completion_from_another_thread) {
  spool_future *fs[3];
  make(fs, 3);
  spool_as_completed *it = NULL;
  cr_assert_eq(spool_as_completed_begin(&it, fs, 3), SPOOL_OK);
  delayed d[3] = {{fs[1], 0, 0.02, 0}, {fs[2], -5, 0.02, 0}, {fs[0], 0, 0.02, 0}};
  for (int k = 0; k < 3; k++) {
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, complete_after, &d[k]), 0);
    atomic_store(&d[k].go, 1);
    spool_future *next = NULL;
    cr_assert_eq(spool_as_completed_next(it, 10.0, &next), SPOOL_OK);
    cr_assert_eq(next, d[k].f, "step %d", k);
    pthread_join(t, NULL);
  }
  spool_future *next = NULL;
  cr_assert_eq(spool_as_completed_next(it, 0, &next), SPOOL_EEXHAUSTED);
  spool_as_completed_end(it);
  drop(fs, 3);
}

Test(wait, as_completed_returns_done_futures_at_once) {
  spool_future *fs[3];
  make(fs, 3);
  spool_future_set_result(fs[0], NULL);
  spool_future_set_result(fs[2], NULL);
  spool_as_completed *it = NULL;
  cr_assert_eq(spool_as_completed_begin(&it, fs, 3), SPOOL_OK);
  spool_future *a = NULL, *b = NULL, *c = NULL;
  cr_assert_eq(spool_as_completed_next(it, 0, &a), SPOOL_OK);
  cr_assert_eq(spool_as_completed_next(it, 0, &b), SPOOL_OK);
  cr_assert((a == fs[0] && b == fs[2]) || (a == fs[2] && b == fs[0]));
  cr_assert_eq(spool_as_completed_next(it, 0.05, &c), SPOOL_ETIMEDOUT);
  cr_assert_null(c);
  spool_future_set_result(fs[1], NULL);
  cr_assert_eq(spool_as_completed_next(it, 0, &c), SPOOL_OK);
  cr_assert_eq(c, fs[1]);
  spool_as_completed_end(it);
  drop(fs, 3);
}

Test(wait, as_completed_returns_duplicates_once) {
  spool_future *a = NULL, *b = NULL;
  make(&a, 1);
  make(&b, 1);
  spool_future *fs[5] = {a, b, a, a, b};
  spool_as_completed *it = NULL;
  cr_assert_eq(spool_as_completed_begin(&it, fs, 5), SPOOL_OK);
  spool_future_set_result(b, NULL);
  spool_future_set_result(a, NULL);
  spool_future *x = NULL, *y = NULL, *z = NULL;
  cr_assert_eq(spool_as_completed_next(it, 10.0, &x), SPOOL_OK);
  cr_assert_eq(spool_as_completed_next(it, 10.0, &y), SPOOL_OK);
  cr_assert_eq(x, b);
  cr_assert_eq(y, a);
  cr_assert_eq(spool_as_completed_next(it, 0.05, &z), SPOOL_EEXHAUSTED);
  spool_as_completed_end(it);
  drop(&a, 1);
  drop(&b, 1);
}

Test(wait, as_completed_timeout) {
  spool_future *f = NULL;
  make(&f, 1);
  spool_as_completed *it = NULL;
  cr_assert_eq(spool_as_completed_begin(&it, &f, 1), SPOOL_OK);
  spool_future *next = f;
  double t0 = now_s();
  cr_assert_eq(spool_as_completed_next(it, 0.1, &next), SPOOL_ETIMEDOUT);
  cr_assert_geq(now_s() - t0, 0.09);
  cr_assert_null(next);
  spool_future_set_exception(f, -1);
  cr_assert_eq(spool_as_completed_next(it, 0.1, &next), SPOOL_OK);
  cr_assert_eq(next, f);
  spool_as_completed_end(it);
  drop(&f, 1);
}

Test(wait, as_completed_of_nothing_is_exhausted) {
  spool_as_completed *it = NULL;
  cr_assert_eq(spool_as_completed_begin(&it, NULL, 0), SPOOL_OK);
  cr_assert_not_null(it);
  spool_future *next = (spool_future *)&it;
  cr_assert_eq(spool_as_completed_next(it, SPOOL_FOREVER, &next), SPOOL_EEXHAUSTED);
  cr_assert_null(next);
  spool_as_completed_end(it);
  cr_assert_eq(spool_as_completed_next(NULL, 0, &next), SPOOL_EINVAL);
}

/* end before exhaustion: futures completed afterwards must not reach the
   freed iterator (the ASan build checks). */
Test(wait, as_completed_end_early) {
  spool_future *fs[3];
  make(fs, 3);
  spool_as_completed *it = NULL;
  cr_assert_eq(spool_as_completed_begin(&it, fs, 3), SPOOL_OK);
  spool_future_set_result(fs[1], NULL);
  spool_future *next = NULL;
  cr_assert_eq(spool_as_completed_next(it, 0, &next), SPOOL_OK);
  spool_as_completed_end(it);
  spool_future_set_result(fs[0], NULL);
  cr_assert(spool_future_cancel(fs[2]));
  drop(fs, 3);
}

Test(wait, as_completed_with_tasks) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  enum { N = 300 };
  spool_future *fs[N];
  static int values[N];
  for (int i = 0; i < N; i++)
    cr_assert_eq(spool_submit(ex, task_return_arg, &values[i], &fs[i]), SPOOL_OK);
  spool_as_completed *it = NULL;
  cr_assert_eq(spool_as_completed_begin(&it, fs, N), SPOOL_OK);
  static bool seen[N];
  for (int k = 0; k < N; k++) {
    spool_future *next = NULL;
    cr_assert_eq(spool_as_completed_next(it, SPOOL_FOREVER, &next), SPOOL_OK);
    cr_assert(spool_future_done(next));
    void *r = NULL;
    cr_assert_eq(spool_future_result(next, 0, &r), SPOOL_OK);
    int i = (int)((int *)r - values);
    cr_assert(i >= 0 && i < N);
    cr_assert_eq(next, fs[i]);
    cr_assert(!seen[i], "future %d returned twice", i);
    seen[i] = true;
  }
  spool_future *next = NULL;
  cr_assert_eq(spool_as_completed_next(it, 0, &next), SPOOL_EEXHAUSTED);
  spool_as_completed_end(it);
  for (int i = 0; i < N; i++)
    spool_future_release(fs[i]);
  spool_executor_destroy(ex);
}

Test(wait, duplicates_in_the_list) {
  spool_future *a = NULL, *b = NULL;
  make(&a, 1);
  make(&b, 1);
  spool_future *fs[3] = {a, b, a};
  size_t nd = 0;
  cr_assert_eq(spool_wait(fs, 3, 0.02, SPOOL_FIRST_COMPLETED, &nd), SPOOL_ETIMEDOUT);
  cr_assert_eq(nd, 0u);
  spool_future_set_result(a, NULL);
  cr_assert_eq(spool_wait(fs, 3, 10.0, SPOOL_FIRST_COMPLETED, &nd), SPOOL_OK);
  cr_assert_eq(nd, 2u);
  cr_assert(fs[0] == a && fs[1] == a && fs[2] == b);
  spool_future_set_result(b, NULL);
  cr_assert_eq(spool_wait(fs, 3, 10.0, SPOOL_ALL_COMPLETED, &nd), SPOOL_OK);
  cr_assert_eq(nd, 3u);
  drop(&a, 1);
  drop(&b, 1);
}
