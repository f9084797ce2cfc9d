/* Done callbacks: order, once, thread, on cancel, after done, releasing
 * the last reference, submitting from a callback. */
#include <pthread.h>

#include "suite.h"

SPOOL_SUITE(callbacks);

#define MAX_CALLS 16

typedef struct call_log {
  atomic_long n;
  int order[MAX_CALLS];
  pthread_t thread[MAX_CALLS];
  bool saw_done[MAX_CALLS];
  bool saw_cancelled[MAX_CALLS];
} call_log;

typedef struct tagged {
  call_log *log;
  int tag;
} tagged;

static void log_call(spool_future *f, void *user) {
  tagged *t = user;
  long i = atomic_load(&t->log->n);
  if (i < MAX_CALLS) {
    t->log->order[i] = t->tag;
    t->log->thread[i] = pthread_self();
    t->log->saw_done[i] = spool_future_done(f);
    t->log->saw_cancelled[i] = spool_future_cancelled(f);
  }
  atomic_store(&t->log->n, i + 1); /* callbacks of one future run one at a time */
}

static int record_thread(void *arg, void **result) {
  (void)result;
  *(pthread_t *)arg = pthread_self();
  return 0;
}

typedef struct gated_task {
  spool_future *gate;
  pthread_t thread;
} gated_task;

static int wait_gate_record_thread(void *arg, void **result) {
  (void)result;
  gated_task *g = arg;
  spool_future_result(g->gate, SPOOL_FOREVER, NULL);
  g->thread = pthread_self();
  return 0;
}

Test(callbacks, run_once_in_order_on_the_completing_thread) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  gated_task g = {NULL, pthread_self()};
  cr_assert_eq(spool_future_create(&g.gate), SPOOL_OK);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(ex, wait_gate_record_thread, &g, &f), SPOOL_OK);
  call_log log = {0};
  tagged tags[5];
  for (int i = 0; i < 5; i++) {
    tags[i] = (tagged){&log, i};
    cr_assert_eq(spool_future_add_done_callback(f, log_call, &tags[i]), SPOOL_OK);
  }
  cr_assert_eq(atomic_load(&log.n), 0, "a callback ran before completion");
  spool_future_set_result(g.gate, NULL);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert(await_at_least(&log.n, 5, TEST_SETTLE_S));
  /* all have run; let a duplicate call show up if there is one */
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&log.n), 5);
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(log.order[i], i, "callback %d ran in position %d", log.order[i], i);
    cr_assert(pthread_equal(log.thread[i], g.thread), "callback %d not on the task's thread", i);
    cr_assert(log.saw_done[i]);
    cr_assert(!log.saw_cancelled[i]);
  }
  spool_future_release(f);
  spool_future_release(g.gate);
  spool_executor_destroy(ex);
}

Test(callbacks, run_on_failure_too) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  spool_future *gate = NULL;
  cr_assert_eq(spool_future_create(&gate), SPOOL_OK);
  blocker b;
  blocker_init(&b, NULL);
  spool_future *bf = NULL, *f = NULL;
  cr_assert_eq(spool_submit(ex, task_block, &b, &bf), SPOOL_OK);
  cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)-7, &f), SPOOL_OK);
  call_log log = {0};
  tagged t = {&log, 1};
  cr_assert_eq(spool_future_add_done_callback(f, log_call, &t), SPOOL_OK);
  blocker_release(&b);
  cr_assert_eq(spool_future_exception(f, SPOOL_FOREVER), -7);
  cr_assert(await_at_least(&log.n, 1, TEST_SETTLE_S));
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&log.n), 1);
  spool_future_release(f);
  spool_future_release(bf);
  spool_future_release(gate);
  blocker_destroy(&b);
  spool_executor_destroy(ex);
}

Test(callbacks, run_on_cancel_before_cancel_returns) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  blocker b;
  blocker_init(&b, NULL);
  spool_future *bf = NULL, *f = NULL;
  cr_assert_eq(spool_submit(ex, task_block, &b, &bf), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S));
  atomic_long ran = 0;
  cr_assert_eq(spool_submit(ex, task_count, &ran, &f), SPOOL_OK);
  call_log log = {0};
  tagged tags[3] = {{&log, 0}, {&log, 1}, {&log, 2}};
  for (int i = 0; i < 3; i++)
    cr_assert_eq(spool_future_add_done_callback(f, log_call, &tags[i]), SPOOL_OK);
  cr_assert(spool_future_cancel(f));
  /* before cancel returned, on this thread, in order */
  cr_assert_eq(atomic_load(&log.n), 3);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(log.order[i], i);
    cr_assert(pthread_equal(log.thread[i], pthread_self()));
    cr_assert(log.saw_cancelled[i]);
    cr_assert(log.saw_done[i]);
  }
  /* a second cancel does not run them again */
  cr_assert(spool_future_cancel(f));
  blocker_release(&b);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&log.n), 3);
  cr_assert_eq(atomic_load(&ran), 0);
  spool_future_release(f);
  spool_future_release(bf);
  blocker_destroy(&b);
  spool_executor_destroy(ex);
}

Test(callbacks, added_after_done_runs_at_once_on_the_caller) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  pthread_t worker_thread = pthread_self();
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(ex, record_thread, &worker_thread, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert(!pthread_equal(worker_thread, pthread_self()));
  call_log log = {0};
  tagged tags[2] = {{&log, 7}, {&log, 8}};
  cr_assert_eq(spool_future_add_done_callback(f, log_call, &tags[0]), SPOOL_OK);
  cr_assert_eq(atomic_load(&log.n), 1, "not run before add_done_callback returned");
  cr_assert_eq(spool_future_add_done_callback(f, log_call, &tags[1]), SPOOL_OK);
  cr_assert_eq(atomic_load(&log.n), 2);
  cr_assert_eq(log.order[0], 7);
  cr_assert_eq(log.order[1], 8);
  cr_assert(pthread_equal(log.thread[0], pthread_self()));
  cr_assert(pthread_equal(log.thread[1], pthread_self()));
  spool_future_release(f);
  spool_executor_destroy(ex);
}

/* A callback added while earlier callbacks are still running on the
   completing thread (the future is done) runs at once on the caller's
   thread, without waiting for them (as in Python). */
typedef struct slow_cb {
  atomic_long entered;
  spool_future *release; /* completed by the test to let the callback go */
} slow_cb;

static void slow_callback(spool_future *f, void *user) {
  (void)f;
  slow_cb *s = user;
  atomic_fetch_add(&s->entered, 1);
  spool_future_result(s->release, SPOOL_FOREVER, NULL);
}

Test(callbacks, added_while_others_run_runs_at_once) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  slow_cb s = {0};
  cr_assert_eq(spool_future_create(&s.release), SPOOL_OK);
  blocker b;
  blocker_init(&b, NULL);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(ex, task_block, &b, &f), SPOOL_OK);
  cr_assert_eq(spool_future_add_done_callback(f, slow_callback, &s), SPOOL_OK);
  blocker_release(&b);
  cr_assert(await_at_least(&s.entered, 1, TEST_SETTLE_S), "the first callback never ran");
  cr_assert(spool_future_done(f));
  call_log log = {0};
  tagged t = {&log, 3};
  cr_assert_eq(spool_future_add_done_callback(f, log_call, &t), SPOOL_OK);
  cr_assert_eq(atomic_load(&log.n), 1, "the late callback waited for the running ones");
  cr_assert(pthread_equal(log.thread[0], pthread_self()));
  spool_future_set_result(s.release, NULL);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  spool_future_release(f);
  spool_future_release(s.release);
  blocker_destroy(&b);
  spool_executor_destroy(ex);
}

/* ---- Releasing the last reference from a callback ----------------------- */

typedef struct releaser {
  spool_future *f;
  atomic_long calls;
} releaser;

static void release_in_callback(spool_future *f, void *user) {
  releaser *r = user;
  if (f == r->f) spool_future_release(f);
  atomic_fetch_add(&r->calls, 1);
}

Test(callbacks, may_release_the_last_reference_of_a_task_future) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  for (int i = 0; i < 200; i++) {
    blocker b;
    blocker_init(&b, NULL);
    releaser r = {NULL, 0};
    cr_assert_eq(spool_submit(ex, task_block, &b, &r.f), SPOOL_OK);
    cr_assert_eq(spool_future_add_done_callback(r.f, release_in_callback, &r), SPOOL_OK);
    /* the test keeps no reference now: the callback owns it */
    blocker_release(&b);
    cr_assert(await_at_least(&r.calls, 1, TEST_SETTLE_S));
    cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
    cr_assert_eq(atomic_load(&r.calls), 1);
    blocker_destroy(&b);
  }
  spool_executor_destroy(ex);
}

Test(callbacks, may_release_the_last_reference_on_cancel_and_when_done) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  blocker b;
  blocker_init(&b, NULL);
  spool_future *bf = NULL;
  cr_assert_eq(spool_submit(ex, task_block, &b, &bf), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S));
  /* cancel: the callback runs inside cancel, which must not touch f after */
  releaser r = {NULL, 0};
  cr_assert_eq(spool_submit(ex, task_return_arg, NULL, &r.f), SPOOL_OK);
  spool_future_retain(r.f); /* one for cancel to borrow, dropped below */
  spool_future *keep = r.f;
  cr_assert_eq(spool_future_add_done_callback(r.f, release_in_callback, &r), SPOOL_OK);
  cr_assert(spool_future_cancel(keep));
  cr_assert_eq(atomic_load(&r.calls), 1);
  spool_future_release(keep);

  /* already done: the callback runs inside add_done_callback */
  releaser d = {NULL, 0};
  cr_assert_eq(spool_submit(ex, task_return_arg, NULL, &d.f), SPOOL_OK);
  blocker_release(&b);
  cr_assert_eq(spool_future_result(d.f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(spool_future_add_done_callback(d.f, release_in_callback, &d), SPOOL_OK);
  cr_assert_eq(atomic_load(&d.calls), 1);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  spool_future_release(bf);
  blocker_destroy(&b);
  spool_executor_destroy(ex);
}

Test(callbacks, may_release_the_last_reference_of_a_created_future) {
  for (int i = 0; i < 100; i++) {
    releaser r = {NULL, 0};
    cr_assert_eq(spool_future_create(&r.f), SPOOL_OK);
    spool_future *f = r.f;
    cr_assert_eq(spool_future_add_done_callback(f, release_in_callback, &r), SPOOL_OK);
    spool_future_retain(f); /* borrowed by set_result below */
    if (i % 2)
      cr_assert_eq(spool_future_set_result(f, NULL), SPOOL_OK);
    else
      cr_assert_eq(spool_future_set_exception(f, -1), SPOOL_OK);
    cr_assert_eq(atomic_load(&r.calls), 1, "callbacks run before set_* returns");
    spool_future_release(f);
  }
}

/* ---- What a callback may do ---------------------------------------------- */

typedef struct submitter {
  spool_executor *ex;
  atomic_long ran;
  atomic_long submitted_ok;
} submitter;

static void submit_from_callback(spool_future *f, void *user) {
  (void)f;
  submitter *s = user;
  if (spool_submit(s->ex, task_count, &s->ran, NULL) == SPOOL_OK)
    atomic_fetch_add(&s->submitted_ok, 1);
}

Test(callbacks, may_submit_tasks) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  submitter s = {ex, 0, 0};
  spool_future *fs[50];
  for (int i = 0; i < 50; i++) {
    cr_assert_eq(spool_submit(ex, task_return_arg, NULL, &fs[i]), SPOOL_OK);
    cr_assert_eq(spool_future_add_done_callback(fs[i], submit_from_callback, &s), SPOOL_OK);
  }
  /* callbacks (and what they submit) finish before join returns: a task
     counts finished after its callbacks have run */
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&s.submitted_ok), 50);
  cr_assert_eq(atomic_load(&s.ran), 50);
  for (int i = 0; i < 50; i++)
    spool_future_release(fs[i]);
  spool_executor_destroy(ex);
}

typedef struct chain {
  spool_future *next; /* a created future completed by the callback */
} chain;

static void complete_next(spool_future *f, void *user) {
  chain *c = user;
  void *r = NULL;
  spool_future_result(f, 0, &r);
  spool_future_set_result(c->next, r);
}

Test(callbacks, may_complete_other_futures) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  static int v;
  spool_future *f = NULL;
  chain c = {NULL};
  cr_assert_eq(spool_future_create(&c.next), SPOOL_OK);
  cr_assert_eq(spool_submit(ex, task_return_arg, &v, &f), SPOOL_OK);
  cr_assert_eq(spool_future_add_done_callback(f, complete_next, &c), SPOOL_OK);
  void *r = NULL;
  cr_assert_eq(spool_future_result(c.next, SPOOL_FOREVER, &r), SPOOL_OK);
  cr_assert_eq(r, &v);
  spool_future_release(f);
  spool_future_release(c.next);
  spool_executor_destroy(ex);
}

/* A callback that adds another callback to its (now done) future: the new
   one runs at once, inside the add, on the same thread. */
typedef struct nested_cb {
  atomic_long outer, inner;
  long inner_seen_by_outer; /* inner's count right after the add returned */
} nested_cb;

static void inner_callback(spool_future *f, void *user) {
  (void)f;
  atomic_fetch_add(&((nested_cb *)user)->inner, 1);
}

static void outer_callback(spool_future *f, void *user) {
  nested_cb *n = user;
  spool_future_add_done_callback(f, inner_callback, n);
  n->inner_seen_by_outer = atomic_load(&n->inner);
  atomic_fetch_add(&n->outer, 1);
}

Test(callbacks, added_from_a_callback_runs_at_once) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  blocker b;
  blocker_init(&b, NULL);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(ex, task_block, &b, &f), SPOOL_OK);
  nested_cb n = {0, 0, -1};
  cr_assert_eq(spool_future_add_done_callback(f, outer_callback, &n), SPOOL_OK);
  blocker_release(&b);
  cr_assert(await_at_least(&n.outer, 1, TEST_SETTLE_S));
  cr_assert_eq(n.inner_seen_by_outer, 1);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&n.inner), 1);
  cr_assert_eq(atomic_load(&n.outer), 1);
  spool_future_release(f);
  blocker_destroy(&b);
  spool_executor_destroy(ex);
}
