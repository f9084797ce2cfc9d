/* spool_shutdown(wait, cancel_futures) and its interplay with submit,
 * queued work and tasks. */
#include <pthread.h>

#include "suite.h"

SPOOL_SUITE(shutdown);

/* Counts worker threads that have exited: the initializer sets a
   thread-specific value whose destructor runs at thread exit. */
static pthread_key_t exit_key;
static atomic_long threads_exited;

static void on_thread_exit(void *value) {
  (void)value;
  atomic_fetch_add(&threads_exited, 1);
}

static int mark_thread(void *arg) {
  (void)arg;
  return pthread_setspecific(exit_key, &exit_key) == 0 ? 0 : -1;
}

Test(shutdown, wait_runs_queued_tasks_and_joins_the_workers) {
  cr_assert_eq(pthread_key_create(&exit_key, on_thread_exit), 0);
  spool_config c;
  spool_config_init(&c);
  c.workers = 2;
  c.initializer = mark_thread;
  spool_executor *ex = NULL;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  atomic_long ran = 0;
  enum { N = 2000 };
  static spool_future *fs[N];
  for (int i = 0; i < N; i++)
    cr_assert_eq(spool_submit(ex, task_count, &ran, i % 2 ? &fs[i] : NULL), SPOOL_OK);
  cr_assert_eq(spool_shutdown(ex, true, false), SPOOL_OK);
  cr_assert_eq(atomic_load(&ran), N, "shutdown(wait) returned before queued tasks ran");
  cr_assert_eq(atomic_load(&threads_exited), 2, "shutdown(wait) returned before workers exited");
  for (int i = 1; i < N; i += 2) {
    cr_assert(spool_future_done(fs[i]));
    cr_assert(!spool_future_cancelled(fs[i]));
    spool_future_release(fs[i]);
  }
  spool_executor_destroy(ex);
}

typedef struct slow {
  atomic_long started, finished;
} slow;

static int slow_task(void *arg, void **result) {
  (void)result;
  slow *s = arg;
  atomic_fetch_add(&s->started, 1);
  sleep_s(0.1);
  atomic_fetch_add(&s->finished, 1);
  return 0;
}

Test(shutdown, wait_waits_for_running_tasks) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  slow s = {0, 0};
  for (int i = 0; i < 6; i++)
    cr_assert_eq(spool_submit(ex, slow_task, &s, NULL), SPOOL_OK);
  cr_assert(await_at_least(&s.started, 1, TEST_SETTLE_S));
  cr_assert_eq(spool_shutdown(ex, true, true), SPOOL_OK);
  /* every task that started has finished; the rest were cancelled */
  long started = atomic_load(&s.started), finished = atomic_load(&s.finished);
  cr_assert_geq(started, 1);
  cr_assert_eq(finished, started, "shutdown(wait) returned while a task ran");
  spool_executor_destroy(ex);
  cr_assert_eq(atomic_load(&s.started), started, "a task started after shutdown(wait)");
}

Test(shutdown, without_wait_queued_tasks_still_run) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  blocker b;
  blocker_init(&b, NULL);
  spool_future *bf = NULL;
  cr_assert_eq(spool_submit(ex, task_block, &b, &bf), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S));
  atomic_long ran = 0;
  spool_future *fs[20];
  for (int i = 0; i < 20; i++)
    cr_assert_eq(spool_submit(ex, task_count, &ran, &fs[i]), SPOOL_OK);
  cr_assert_eq(spool_shutdown(ex, false, false), SPOOL_OK);
  blocker_release(&b);
  for (int i = 0; i < 20; i++) {
    cr_assert_eq(spool_future_result(fs[i], SPOOL_FOREVER, NULL), SPOOL_OK);
    spool_future_release(fs[i]);
  }
  cr_assert_eq(atomic_load(&ran), 20);
  spool_executor_destroy(ex);
  spool_future_release(bf);
  blocker_destroy(&b);
}

/* ---- cancel_futures ------------------------------------------------------ */

#define KIDS 20

/* Two workers, each held by a blocker; one of the blockers first fills its
   own deque with tasks, so queued work sits in a worker deque and (from the
   test) in the injection queue. */
typedef struct two_held {
  spool_executor *ex;
  spool_future *gate;
  atomic_long started;
  atomic_long kids_submitted;
  spool_future *kid_futures[KIDS];
  atomic_long kid_ran;
  atomic_long detached_ran;
  int submit_errors;
} two_held;

static int hold_and_fill(void *arg, void **result) {
  (void)result;
  two_held *h = arg;
  atomic_fetch_add(&h->started, 1);
  /* both workers are inside a holder from here on: nobody can take the
     children this one queues */
  while (atomic_load(&h->started) < 2)
    sched_yield();
  if (spool_current_worker() == 0) {
    for (int i = 0; i < KIDS; i++) {
      if (spool_submit(h->ex, task_count, &h->kid_ran, &h->kid_futures[i]) != SPOOL_OK)
        h->submit_errors++;
      if (spool_submit(h->ex, task_count, &h->detached_ran, NULL) != SPOOL_OK) h->submit_errors++;
    }
    atomic_store(&h->kids_submitted, 1);
  }
  return spool_future_result(h->gate, SPOOL_FOREVER, NULL);
}

Test(shutdown, cancel_futures_cancels_every_queued_task_before_returning) {
  two_held h = {.ex = executor_with(2)};
  cr_assert_not_null(h.ex);
  cr_assert_eq(spool_future_create(&h.gate), SPOOL_OK);
  spool_future *holders[2];
  for (int i = 0; i < 2; i++)
    cr_assert_eq(spool_submit(h.ex, hold_and_fill, &h, &holders[i]), SPOOL_OK);
  cr_assert(await_at_least(&h.kids_submitted, 1, TEST_SETTLE_S), "holders did not start");
  cr_assert_eq(h.submit_errors, 0);
  /* and some in the injection queue */
  atomic_long outside_ran = 0, outside_detached_ran = 0;
  spool_future *outside[KIDS];
  for (int i = 0; i < KIDS; i++) {
    cr_assert_eq(spool_submit(h.ex, task_count, &outside_ran, &outside[i]), SPOOL_OK);
    cr_assert_eq(spool_submit(h.ex, task_count, &outside_detached_ran, NULL), SPOOL_OK);
  }
  spool_stats before;
  cr_assert_eq(spool_stats_read(h.ex, -1, &before), SPOOL_OK);

  cr_assert_eq(spool_shutdown(h.ex, false, true), SPOOL_OK);
  /* Before anything is released: every queued task is already cancelled. */
  for (int i = 0; i < KIDS; i++) {
    cr_assert(spool_future_cancelled(h.kid_futures[i]), "task %d in a worker deque not cancelled",
              i);
    cr_assert(spool_future_cancelled(outside[i]), "task %d in the injection queue not cancelled",
              i);
    cr_assert_eq(spool_future_result(outside[i], 0, NULL), SPOOL_ECANCELLED);
  }
  /* the running holders are not cancelled */
  for (int i = 0; i < 2; i++) {
    cr_assert(spool_future_running(holders[i]));
    cr_assert(!spool_future_cancel(holders[i]));
  }
  spool_stats after;
  cr_assert_eq(spool_stats_read(h.ex, -1, &after), SPOOL_OK);
  /* the dropped fire-and-forget tasks are counted */
  cr_assert_geq(after.cancelled - before.cancelled, 2u * KIDS);
  cr_assert_leq(after.cancelled - before.cancelled, 4u * KIDS);

  spool_future_set_result(h.gate, NULL);
  for (int i = 0; i < 2; i++)
    cr_assert_eq(spool_future_result(holders[i], SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(spool_join(h.ex, SPOOL_FOREVER), SPOOL_OK);
  spool_executor_destroy(h.ex);
  cr_assert_eq(atomic_load(&h.kid_ran), 0);
  cr_assert_eq(atomic_load(&h.detached_ran), 0);
  cr_assert_eq(atomic_load(&outside_ran), 0);
  cr_assert_eq(atomic_load(&outside_detached_ran), 0);
  for (int i = 0; i < KIDS; i++) {
    spool_future_release(h.kid_futures[i]);
    spool_future_release(outside[i]);
  }
  for (int i = 0; i < 2; i++)
    spool_future_release(holders[i]);
  spool_future_release(h.gate);
}

typedef struct cb_counter {
  atomic_long calls;
  atomic_long cancelled_seen;
} cb_counter;

static void count_cancel_callback(spool_future *f, void *user) {
  cb_counter *c = user;
  if (spool_future_cancelled(f)) atomic_fetch_add(&c->cancelled_seen, 1);
  atomic_fetch_add(&c->calls, 1);
}

Test(shutdown, cancel_futures_runs_callbacks) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  blocker b;
  blocker_init(&b, NULL);
  spool_future *bf = NULL;
  cr_assert_eq(spool_submit(ex, task_block, &b, &bf), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S));
  cb_counter c = {0, 0};
  spool_future *fs[10];
  for (int i = 0; i < 10; i++) {
    cr_assert_eq(spool_submit(ex, task_return_arg, NULL, &fs[i]), SPOOL_OK);
    cr_assert_eq(spool_future_add_done_callback(fs[i], count_cancel_callback, &c), SPOOL_OK);
  }
  cr_assert_eq(spool_shutdown(ex, false, true), SPOOL_OK);
  cr_assert_eq(atomic_load(&c.calls), 10, "callbacks had not run when shutdown returned");
  cr_assert_eq(atomic_load(&c.cancelled_seen), 10);
  blocker_release(&b);
  spool_executor_destroy(ex);
  cr_assert_eq(atomic_load(&c.calls), 10);
  for (int i = 0; i < 10; i++)
    spool_future_release(fs[i]);
  spool_future_release(bf);
  blocker_destroy(&b);
}

/* Leak check (ASan build): queued items dropped by a cancelling shutdown
   and the futures the program still holds are all freed. */
Test(shutdown, cancel_then_destroy_leaks_nothing) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  blocker b;
  blocker_init(&b, NULL);
  spool_future *bf = NULL;
  cr_assert_eq(spool_submit(ex, task_block, &b, &bf), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S));
  atomic_long ran = 0;
  for (int i = 0; i < 1000; i++) {
    spool_future *f = NULL;
    cr_assert_eq(spool_submit(ex, task_count, &ran, i % 3 ? NULL : &f), SPOOL_OK);
    spool_future_release(f); /* only the queue holds it */
  }
  cr_assert_eq(spool_shutdown(ex, false, true), SPOOL_OK);
  blocker_release(&b);
  spool_executor_destroy(ex);
  cr_assert_eq(atomic_load(&ran), 0);
  spool_future_release(bf);
  blocker_destroy(&b);
}

Test(shutdown, is_idempotent) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  atomic_long ran = 0;
  for (int i = 0; i < 100; i++)
    cr_assert_eq(spool_submit(ex, task_count, &ran, NULL), SPOOL_OK);
  cr_assert_eq(spool_shutdown(ex, false, false), SPOOL_OK);
  cr_assert_eq(spool_shutdown(ex, false, false), SPOOL_OK);
  cr_assert_eq(spool_shutdown(ex, true, false), SPOOL_OK);
  cr_assert_eq(atomic_load(&ran), 100);
  cr_assert_eq(spool_shutdown(ex, true, false), SPOOL_OK);
  cr_assert_eq(spool_shutdown(ex, true, true), SPOOL_OK);
  cr_assert_eq(spool_shutdown(ex, false, true), SPOOL_OK);
  cr_assert_eq(spool_submit(ex, task_count, &ran, NULL), SPOOL_ESHUTDOWN);
  spool_executor_destroy(ex);
}

Test(shutdown, later_call_may_cancel) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  blocker b;
  blocker_init(&b, NULL);
  spool_future *bf = NULL, *f = NULL;
  cr_assert_eq(spool_submit(ex, task_block, &b, &bf), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S));
  cr_assert_eq(spool_submit(ex, task_return_arg, NULL, &f), SPOOL_OK);
  cr_assert_eq(spool_shutdown(ex, false, false), SPOOL_OK);
  cr_assert(!spool_future_done(f));
  cr_assert_eq(spool_shutdown(ex, false, true), SPOOL_OK);
  cr_assert(spool_future_cancelled(f));
  blocker_release(&b);
  spool_executor_destroy(ex);
  spool_future_release(f);
  spool_future_release(bf);
  blocker_destroy(&b);
}

/* ---- From inside a task -------------------------------------------------- */

typedef struct inner_shutdown {
  spool_executor *ex;
  int rc_wait, rc_wait_cancel, rc_nowait, rc_submit_after;
} inner_shutdown;

static int shutdown_with_wait_from_task(void *arg, void **result) {
  (void)result;
  inner_shutdown *s = arg;
  s->rc_wait = spool_shutdown(s->ex, true, false);
  s->rc_wait_cancel = spool_shutdown(s->ex, true, true);
  return 0;
}

Test(shutdown, with_wait_from_a_task_is_estate) {
  inner_shutdown s = {executor_with(2), 1, 1, 1, 1};
  cr_assert_not_null(s.ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(s.ex, shutdown_with_wait_from_task, &s, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(s.rc_wait, SPOOL_ESTATE);
  cr_assert_eq(s.rc_wait_cancel, SPOOL_ESTATE);
  spool_future_release(f);
  /* the refused call changed nothing: the executor still accepts work */
  atomic_long ran = 0;
  cr_assert_eq(spool_submit(s.ex, task_count, &ran, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(atomic_load(&ran), 1);
  spool_future_release(f);
  spool_executor_destroy(s.ex);
}

static int shutdown_without_wait_from_task(void *arg, void **result) {
  (void)result;
  inner_shutdown *s = arg;
  s->rc_nowait = spool_shutdown(s->ex, false, false);
  atomic_long dummy = 0;
  s->rc_submit_after = spool_submit(s->ex, task_count, &dummy, NULL);
  return 0;
}

Test(shutdown, without_wait_from_a_task) {
  inner_shutdown s = {executor_with(2), 1, 1, 1, 1};
  cr_assert_not_null(s.ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(s.ex, shutdown_without_wait_from_task, &s, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(s.rc_nowait, SPOOL_OK);
  cr_assert_eq(s.rc_submit_after, SPOOL_ESHUTDOWN);
  atomic_long ran = 0;
  cr_assert_eq(spool_submit(s.ex, task_count, &ran, NULL), SPOOL_ESHUTDOWN);
  cr_assert_eq(spool_shutdown(s.ex, true, false), SPOOL_OK);
  spool_future_release(f);
  spool_executor_destroy(s.ex);
}

/* A task of another executor is outside: shutdown(wait) works from it. */
static int shutdown_other(void *arg, void **result) {
  (void)result;
  return spool_shutdown(arg, true, false);
}

Test(shutdown, with_wait_from_another_executors_task) {
  spool_executor *a = executor_with(1), *b = executor_with(1);
  cr_assert(a && b);
  atomic_long ran = 0;
  for (int i = 0; i < 50; i++)
    cr_assert_eq(spool_submit(b, task_count, &ran, NULL), SPOOL_OK);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(a, shutdown_other, b, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(atomic_load(&ran), 50);
  spool_future_release(f);
  spool_executor_destroy(a);
  spool_executor_destroy(b);
}

/* From inside a task, shutdown(cancel_futures) without wait cancels the
   tasks queued in the caller's own deque too, before it returns. */
typedef struct self_cancel {
  spool_executor *ex;
  spool_future *kids[10];
  atomic_long kid_ran;
  int rc;
  int cancelled_when_returned;
} self_cancel;

static int cancel_own_children(void *arg, void **result) {
  (void)result;
  self_cancel *s = arg;
  for (int i = 0; i < 10; i++)
    if (spool_submit(s->ex, task_count, &s->kid_ran, &s->kids[i]) != SPOOL_OK) return -1;
  s->rc = spool_shutdown(s->ex, false, true);
  for (int i = 0; i < 10; i++)
    s->cancelled_when_returned += spool_future_cancelled(s->kids[i]);
  return 0;
}

Test(shutdown, cancel_futures_from_a_task_cancels_its_own_queue) {
  self_cancel s = {.ex = executor_with(1), .rc = 1};
  cr_assert_not_null(s.ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(s.ex, cancel_own_children, &s, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(s.rc, SPOOL_OK);
  cr_assert_eq(s.cancelled_when_returned, 10, "only %d of 10 queued children were cancelled",
               s.cancelled_when_returned);
  spool_executor_destroy(s.ex);
  cr_assert_eq(atomic_load(&s.kid_ran), 0);
  for (int i = 0; i < 10; i++)
    spool_future_release(s.kids[i]);
  spool_future_release(f);
}
