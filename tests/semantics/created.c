/* Futures made with spool_future_create() and completed by the program. */
#include <errno.h>
#include <pthread.h>

#include "suite.h"

SPOOL_SUITE(created);

Test(created, starts_pending_without_executor) {
  spool_future *f = NULL;
  cr_assert_eq(spool_future_create(&f), SPOOL_OK);
  cr_assert_not_null(f);
  cr_assert(!spool_future_done(f));
  cr_assert(!spool_future_running(f));
  cr_assert(!spool_future_cancelled(f));
  cr_assert_null(spool_future_executor(f));
  cr_assert_eq(spool_future_result(f, 0, NULL), SPOOL_ETIMEDOUT);
  cr_assert_eq(spool_future_exception(f, 0.01), SPOOL_ETIMEDOUT);
  spool_future_release(f);
}

Test(created, set_result) {
  spool_future *f = NULL;
  cr_assert_eq(spool_future_create(&f), SPOOL_OK);
  static int v;
  cr_assert_eq(spool_future_set_result(f, &v), SPOOL_OK);
  cr_assert(spool_future_done(f));
  cr_assert(!spool_future_running(f));
  cr_assert(!spool_future_cancelled(f));
  void *r = NULL;
  cr_assert_eq(spool_future_result(f, 0, &r), SPOOL_OK);
  cr_assert_eq(r, &v);
  cr_assert_eq(spool_future_exception(f, 0), SPOOL_OK);
  /* done: no second completion of either kind, and the first stays */
  cr_assert_eq(spool_future_set_result(f, NULL), SPOOL_ESTATE);
  cr_assert_eq(spool_future_set_exception(f, -1), SPOOL_ESTATE);
  cr_assert(!spool_future_cancel(f));
  cr_assert_eq(spool_future_result(f, 0, &r), SPOOL_OK);
  cr_assert_eq(r, &v);
  spool_future_release(f);
}

Test(created, set_exception) {
  const int codes[] = {-1, -EIO, 42, -10000, -11000};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    spool_future *f = NULL;
    cr_assert_eq(spool_future_create(&f), SPOOL_OK);
    cr_assert_eq(spool_future_set_exception(f, codes[i]), SPOOL_OK, "code %d", codes[i]);
    cr_assert(spool_future_done(f));
    cr_assert(!spool_future_cancelled(f));
    void *r = &r;
    cr_assert_eq(spool_future_result(f, 0, &r), codes[i]);
    cr_assert_null(r);
    cr_assert_eq(spool_future_exception(f, SPOOL_FOREVER), codes[i]);
    cr_assert_eq(spool_future_set_exception(f, codes[i]), SPOOL_ESTATE);
    cr_assert_eq(spool_future_set_result(f, NULL), SPOOL_ESTATE);
    cr_assert_eq(spool_future_exception(f, 0), codes[i]);
    spool_future_release(f);
  }
}

/* Only 0 is refused: any nonzero code is accepted, runtime codes included,
   as a task may return any (changed 2026-12). */
Test(created, set_exception_rejects_only_zero) {
  spool_future *f = NULL;
  cr_assert_eq(spool_future_create(&f), SPOOL_OK);
  cr_assert_eq(spool_future_set_exception(f, 0), SPOOL_EINVAL);
  cr_assert(!spool_future_done(f), "a rejected code 0 completed the future");
  spool_future_release(f);
  const int codes[] = {SPOOL_ECANCELLED, SPOOL_ETIMEDOUT, SPOOL_EINVAL, -10001, -10500, -10999, -2};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    cr_assert_eq(spool_future_create(&f), SPOOL_OK);
    cr_assert_eq(spool_future_set_exception(f, codes[i]), SPOOL_OK, "code %d", codes[i]);
    cr_assert_eq(spool_future_exception(f, 0), codes[i]);
    cr_assert_eq(spool_future_result(f, 0, NULL), codes[i]);
    cr_assert(!spool_future_cancelled(f), "code %d made a cancelled future", codes[i]);
    spool_future_release(f);
  }
}

Test(created, cancel) {
  spool_future *f = NULL;
  cr_assert_eq(spool_future_create(&f), SPOOL_OK);
  cr_assert(spool_future_cancel(f));
  cr_assert(spool_future_cancelled(f));
  cr_assert(spool_future_done(f));
  cr_assert(spool_future_cancel(f));
  cr_assert_eq(spool_future_result(f, 0, NULL), SPOOL_ECANCELLED);
  cr_assert_eq(spool_future_exception(f, SPOOL_FOREVER), SPOOL_ECANCELLED);
  cr_assert_eq(spool_future_set_result(f, NULL), SPOOL_ESTATE);
  cr_assert_eq(spool_future_set_exception(f, -1), SPOOL_ESTATE);
  cr_assert(spool_future_cancelled(f));
  spool_future_release(f);
}

static int dummy(void *arg, void **result) {
  (void)arg;
  (void)result;
  return 0;
}

Test(created, set_on_a_task_future_is_estate) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  blocker b;
  blocker_init(&b, NULL);
  spool_future *running = NULL, *pending = NULL;
  cr_assert_eq(spool_submit(ex, task_block, &b, &running), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S));
  cr_assert_eq(spool_submit(ex, dummy, NULL, &pending), SPOOL_OK);
  cr_assert_eq(spool_future_set_result(pending, NULL), SPOOL_ESTATE);
  cr_assert_eq(spool_future_set_exception(pending, -1), SPOOL_ESTATE);
  cr_assert_eq(spool_future_set_result(running, NULL), SPOOL_ESTATE);
  cr_assert_eq(spool_future_set_exception(running, -1), SPOOL_ESTATE);
  cr_assert(!spool_future_done(pending));
  blocker_release(&b);
  cr_assert_eq(spool_future_result(pending, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(spool_future_set_result(pending, NULL), SPOOL_ESTATE);
  spool_future_release(pending);
  spool_future_release(running);
  blocker_destroy(&b);
  spool_executor_destroy(ex);
}

/* Completion from another thread wakes a waiter blocked in result(). */
typedef struct completer {
  spool_future *f;
  atomic_long waiting; /* set by the test before it blocks */
  int value;
} completer;

static void *complete_later(void *arg) {
  completer *c = arg;
  while (!atomic_load(&c->waiting))
    sched_yield();
  sleep_s(0.05); /* let the waiter reach its sleep; the result decides */
  spool_future_set_result(c->f, &c->value);
  return NULL;
}

Test(created, completion_from_another_thread_wakes_the_waiter) {
  for (int i = 0; i < 20; i++) {
    completer c = {NULL, 0, i};
    cr_assert_eq(spool_future_create(&c.f), SPOOL_OK);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, complete_later, &c), 0);
    atomic_store(&c.waiting, 1);
    void *r = NULL;
    cr_assert_eq(spool_future_result(c.f, 10.0, &r), SPOOL_OK);
    cr_assert_eq(r, &c.value);
    pthread_join(t, NULL);
    spool_future_release(c.f);
  }
}

/* A task on a worker waits on a created future completed from outside. */
static int wait_for_created(void *arg, void **result) {
  return spool_future_result(arg, SPOOL_FOREVER, result);
}

Test(created, completion_from_outside_wakes_a_task) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  spool_future *gates[8], *fs[8];
  static int values[8];
  for (int i = 0; i < 8; i++) {
    cr_assert_eq(spool_future_create(&gates[i]), SPOOL_OK);
    cr_assert_eq(spool_submit(ex, wait_for_created, gates[i], &fs[i]), SPOOL_OK);
  }
  for (int i = 7; i >= 0; i--)
    if (i % 3 == 0)
      cr_assert_eq(spool_future_set_exception(gates[i], -100 - i), SPOOL_OK);
    else
      cr_assert_eq(spool_future_set_result(gates[i], &values[i]), SPOOL_OK);
  for (int i = 0; i < 8; i++) {
    void *r = NULL;
    int rc = spool_future_result(fs[i], SPOOL_FOREVER, &r);
    if (i % 3 == 0) {
      cr_assert_eq(rc, -100 - i);
    } else {
      cr_assert_eq(rc, SPOOL_OK);
      cr_assert_eq(r, &values[i]);
    }
    spool_future_release(fs[i]);
    spool_future_release(gates[i]);
  }
  spool_executor_destroy(ex);
}
