/* spool_submit, results and error codes, spool_strerror, visibility. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "suite.h"

SPOOL_SUITE(submit);

Test(submit, result_is_returned) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  static int values[500];
  spool_future *fs[500];
  for (int i = 0; i < 500; i++)
    cr_assert_eq(spool_submit(ex, task_return_arg, &values[i], &fs[i]), SPOOL_OK);
  for (int i = 0; i < 500; i++) {
    void *r = NULL;
    cr_assert_eq(spool_future_result(fs[i], SPOOL_FOREVER, &r), SPOOL_OK);
    cr_assert_eq(r, &values[i]);
    cr_assert_eq(spool_future_exception(fs[i], SPOOL_FOREVER), 0);
    cr_assert_eq(spool_future_executor(fs[i]), ex);
    /* result pointer may be NULL */
    cr_assert_eq(spool_future_result(fs[i], 0, NULL), SPOOL_OK);
    spool_future_release(fs[i]);
  }
  spool_executor_destroy(ex);
}

static int check_result_is_null(void *arg, void **result) {
  *(int *)arg = *result == NULL ? 1 : 2;
  *result = arg;
  return 0;
}

Test(submit, result_is_null_when_a_task_starts) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  for (int i = 0; i < 50; i++) {
    int seen = 0;
    spool_future *f = NULL;
    cr_assert_eq(spool_submit(ex, check_result_is_null, &seen, &f), SPOOL_OK);
    cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
    cr_assert_eq(seen, 1, "*result was not NULL when the task started");
    spool_future_release(f);
    cr_assert_eq(spool_submit(ex, check_result_is_null, &seen, NULL), SPOOL_OK);
    cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
    cr_assert_eq(seen, 1, "*result was not NULL when a fire-and-forget task started");
  }
  spool_executor_destroy(ex);
}

static int fail_with_result(void *arg, void **result) {
  static int junk;
  *result = &junk; /* must not be reported: the task failed */
  return (int)(intptr_t)arg;
}

Test(submit, task_error_codes_pass_through) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  const int codes[] = {-1, -EIO, -ENOMEM, 42, 1, INT_MAX, INT_MIN, -10000, -11000, 10001};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    spool_future *f = NULL;
    cr_assert_eq(spool_submit(ex, fail_with_result, (void *)(intptr_t)codes[i], &f), SPOOL_OK);
    void *r = &r;
    cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, &r), codes[i], "code %d", codes[i]);
    cr_assert_null(r, "a failed task's result was reported");
    cr_assert_eq(spool_future_exception(f, SPOOL_FOREVER), codes[i]);
    cr_assert(spool_future_done(f));
    cr_assert(!spool_future_cancelled(f));
    spool_future_release(f);
  }
  spool_executor_destroy(ex);
}

/* A task's code passes through unchanged, runtime codes included (changed
   2026-12: the first version reported them as SPOOL_EINVAL), so a task may
   return the code a wait gave it. */
Test(submit, runtime_codes_from_a_task_pass_through) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  const int codes[] = {SPOOL_ECANCELLED, SPOOL_ETIMEDOUT, SPOOL_ESHUTDOWN, SPOOL_EBROKEN,
                       SPOOL_EEXHAUSTED, SPOOL_EINVAL,    -10500,          -10999};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    spool_future *f = NULL;
    cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)codes[i], &f), SPOOL_OK);
    cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), codes[i], "code %d", codes[i]);
    cr_assert_eq(spool_future_exception(f, SPOOL_FOREVER), codes[i]);
    /* A task that "returns ECANCELLED" is not a cancelled future. */
    cr_assert(!spool_future_cancelled(f));
    cr_assert(spool_future_done(f));
    spool_future_release(f);
  }
  spool_executor_destroy(ex);
}

/* A task that propagates a wait's code (`if (rc) return rc;`): the code
   reaches every observer unchanged, runtime codes included: result,
   exception, spool_wait (FIRST_EXCEPTION sees it as an exception),
   spool_yield_wait from inside a task, and spool_join for a detached task. */
static int propagate_timeout(void *arg, void **result) {
  (void)arg;
  (void)result;
  spool_future *never = NULL;
  if (spool_future_create(&never) != SPOOL_OK) return -1;
  int rc = spool_future_result(never, 0.01, NULL); /* SPOOL_ETIMEDOUT */
  spool_future_release(never);
  if (rc) return rc;
  return -2;
}

typedef struct observed {
  int code;
  int yield_rc, yield_exception;
  size_t yield_ndone;
} observed;

static int observe_in_task(void *arg, void **result) {
  (void)result;
  observed *o = arg;
  spool_future *f = NULL;
  if (spool_submit(spool_current_executor(), task_return_code, (void *)(intptr_t)o->code, &f) !=
      SPOOL_OK)
    return -1;
  o->yield_rc = spool_yield_wait(&f, 1, SPOOL_FOREVER, SPOOL_FIRST_EXCEPTION, &o->yield_ndone);
  o->yield_exception = spool_future_exception(f, 0);
  spool_future_release(f);
  return 0;
}

Test(submit, runtime_codes_reach_every_observer_unchanged) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  spool_future *p = NULL;
  cr_assert_eq(spool_submit(ex, propagate_timeout, NULL, &p), SPOOL_OK);
  cr_assert_eq(spool_future_result(p, SPOOL_FOREVER, NULL), SPOOL_ETIMEDOUT);
  cr_assert(spool_future_done(p) && !spool_future_cancelled(p));
  spool_future_release(p);

  const int codes[] = {SPOOL_ETIMEDOUT, SPOOL_ECANCELLED, SPOOL_EINVAL};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    spool_future *f = NULL;
    cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)codes[i], &f), SPOOL_OK);
    spool_future *fs[1] = {f};
    size_t nd = 0;
    cr_assert_eq(spool_wait(fs, 1, SPOOL_FOREVER, SPOOL_FIRST_EXCEPTION, &nd), SPOOL_OK);
    cr_assert_eq(nd, 1u);
    cr_assert_eq(spool_future_exception(f, 0), codes[i], "code %d", codes[i]);
    cr_assert_eq(spool_future_result(f, 0, NULL), codes[i]);
    cr_assert(!spool_future_cancelled(f));
    spool_future_release(f);

    observed o = {codes[i], 1, 1, 0};
    cr_assert_eq(spool_submit(ex, observe_in_task, &o, &f), SPOOL_OK);
    cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
    cr_assert_eq(o.yield_rc, SPOOL_OK);
    cr_assert_eq(o.yield_ndone, 1u);
    cr_assert_eq(o.yield_exception, codes[i]);
    spool_future_release(f);

    cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)codes[i], NULL), SPOOL_OK);
    cr_assert_eq(spool_join(ex, SPOOL_FOREVER), codes[i], "join, code %d", codes[i]);
  }
  spool_executor_destroy(ex);
}

/* spool_run from outside passes the root's code through too (from inside a
   task it calls the function inline: runtime/forkjoin.c, whose mapping the
   typed fork-join change removes). */
Test(submit, runtime_codes_pass_through_spool_run) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  const int codes[] = {SPOOL_ETIMEDOUT, SPOOL_ECANCELLED, SPOOL_EINVAL};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    cr_assert_eq(spool_run(ex, task_return_code, (void *)(intptr_t)codes[i], NULL), codes[i],
                 "code %d", codes[i]);
  spool_executor_destroy(ex);
}

Test(submit, strerror_names_every_code) {
  const int codes[] = {SPOOL_ECANCELLED, SPOOL_ETIMEDOUT, SPOOL_ESHUTDOWN, SPOOL_ENOMEM,
                       SPOOL_EINVAL,     SPOOL_ESTATE,    SPOOL_EBROKEN,   SPOOL_EEXHAUSTED};
  const size_t n = sizeof codes / sizeof codes[0];
  cr_assert_str_eq(spool_strerror(SPOOL_OK), "success");
  for (size_t i = 0; i < n; i++) {
    const char *s = spool_strerror(codes[i]);
    cr_assert_not_null(s);
    cr_assert_gt(strlen(s), 0u);
    cr_assert_str_neq(s, "task error", "code %d", codes[i]);
    cr_assert_str_neq(s, "success", "code %d", codes[i]);
    for (size_t j = 0; j < i; j++)
      cr_assert_str_neq(s, spool_strerror(codes[j]), "codes %d and %d share \"%s\"", codes[i],
                        codes[j], s);
    /* static: the same string each time */
    cr_assert_eq(s, spool_strerror(codes[i]));
  }
  const int task_codes[] = {-1, 1, 42, -EIO, INT_MIN, INT_MAX, -10000, -11000};
  for (size_t i = 0; i < sizeof task_codes / sizeof task_codes[0]; i++)
    cr_assert_str_eq(spool_strerror(task_codes[i]), "task error", "code %d", task_codes[i]);
  /* Unassigned codes in the reserved block are a task's own, too. */
  cr_assert_str_eq(spool_strerror(-10500), "task error");
  cr_assert_str_eq(spool_strerror(-10999), "task error");
}

/* ---- Visibility ---------------------------------------------------------- */

#define VIS_N (1 << 16)

typedef struct vis {
  int data[VIS_N]; /* plain memory, written by the task */
  long sum;
} vis;

static int write_plain(void *arg, void **result) {
  vis *v = arg;
  long s = 0;
  for (int i = 0; i < VIS_N; i++) {
    v->data[i] = i * 3 + 1;
    s += v->data[i];
  }
  v->sum = s;
  *result = v;
  return 0;
}

static long plain_sum(const vis *v) {
  long s = 0;
  for (int i = 0; i < VIS_N; i++)
    s += v->data[i];
  return s;
}

static atomic_long callback_verdict; /* 0: not run; 1: saw the writes; 2: did not */

static void read_in_callback(spool_future *f, void *user) {
  (void)f;
  vis *v = user;
  atomic_store(&callback_verdict, plain_sum(v) == v->sum && v->sum != 0 ? 1 : 2);
}

Test(submit, task_writes_are_visible_after_completion) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  vis *v = calloc(1, sizeof *v);
  cr_assert_not_null(v);
  long expect = 0;
  for (int i = 0; i < VIS_N; i++)
    expect += i * 3 + 1;
  for (int round = 0; round < 20; round++) {
    memset(v, 0, sizeof *v);
    spool_future *f = NULL;
    cr_assert_eq(spool_submit(ex, write_plain, v, &f), SPOOL_OK);
    switch (round % 4) {
    case 0: /* result */
      cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
      break;
    case 1: /* a done() that returns true */
      while (!spool_future_done(f))
        sched_yield();
      break;
    case 2: /* wait */
      cr_assert_eq(spool_wait(&f, 1, SPOOL_FOREVER, SPOOL_FIRST_COMPLETED, NULL), SPOOL_OK);
      break;
    case 3: /* a callback, which then runs on the completing thread */
      atomic_store(&callback_verdict, 0);
      cr_assert_eq(spool_future_add_done_callback(f, read_in_callback, v), SPOOL_OK);
      cr_assert(await_at_least(&callback_verdict, 1, TEST_SETTLE_S));
      cr_assert_eq(atomic_load(&callback_verdict), 1, "the callback missed the task's writes");
      break;
    }
    cr_assert_eq(v->sum, expect, "round %d", round);
    cr_assert_eq(plain_sum(v), expect, "round %d: the task's writes are not all visible", round);
    spool_future_release(f);

    /* join, for fire-and-forget work */
    memset(v, 0, sizeof *v);
    cr_assert_eq(spool_submit(ex, write_plain, v, NULL), SPOOL_OK);
    cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
    cr_assert_eq(plain_sum(v), expect, "round %d: not visible after join", round);
  }
  free(v);
  spool_executor_destroy(ex);
}

/* ---- Fire-and-forget ----------------------------------------------------- */

Test(submit, fire_and_forget_runs) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  atomic_long n = 0;
  for (int i = 0; i < 10000; i++)
    cr_assert_eq(spool_submit(ex, task_count, &n, NULL), SPOOL_OK);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&n), 10000);
  spool_executor_destroy(ex);
}

/* Tasks submitting tasks: from a worker they go onto its deque. */
typedef struct fan {
  spool_executor *ex;
  atomic_long leaves;
  int depth;
} fan;

typedef struct fan_node {
  fan *shared;
  int depth;
} fan_node;

static int fan_out(void *arg, void **result) {
  fan_node *node = arg;
  (void)result;
  if (node->depth == 0) {
    atomic_fetch_add(&node->shared->leaves, 1);
    return 0;
  }
  fan_node kids[2] = {{node->shared, node->depth - 1}, {node->shared, node->depth - 1}};
  spool_future *fs[2] = {NULL, NULL};
  int rc = 0;
  for (int i = 0; i < 2; i++)
    if (spool_submit(node->shared->ex, fan_out, &kids[i], &fs[i]) != SPOOL_OK) rc = -1;
  for (int i = 0; i < 2; i++) {
    if (fs[i] && spool_future_result(fs[i], SPOOL_FOREVER, NULL) != SPOOL_OK) rc = -1;
    spool_future_release(fs[i]);
  }
  return rc;
}

Test(submit, tasks_submit_and_wait_for_subtasks) {
  for (unsigned workers = 1; workers <= 3; workers++) {
    fan shared = {executor_with(workers), 0, 10};
    cr_assert_not_null(shared.ex);
    fan_node root = {&shared, 10};
    spool_future *f = NULL;
    cr_assert_eq(spool_submit(shared.ex, fan_out, &root, &f), SPOOL_OK);
    cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
    cr_assert_eq(atomic_load(&shared.leaves), 1024, "%u workers", workers);
    spool_future_release(f);
    spool_executor_destroy(shared.ex);
  }
}

/* ---- After shutdown ------------------------------------------------------ */

Test(submit, after_shutdown_is_refused) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  cr_assert_eq(spool_shutdown(ex, false, false), SPOOL_OK);
  spool_future *f = (spool_future *)&ex;
  atomic_long n = 0;
  cr_assert_eq(spool_submit(ex, task_count, &n, &f), SPOOL_ESHUTDOWN);
  cr_assert_null(f);
  cr_assert_eq(spool_submit(ex, task_count, &n, NULL), SPOOL_ESHUTDOWN);
  cr_assert_eq(spool_shutdown(ex, true, false), SPOOL_OK);
  cr_assert_eq(spool_submit(ex, task_count, &n, NULL), SPOOL_ESHUTDOWN);
  cr_assert_eq(atomic_load(&n), 0);
  /* join has nothing to wait for */
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  spool_executor_destroy(ex);
}

typedef struct late_submit {
  spool_executor *ex;
  spool_future *gate; /* completed after the shutdown */
  atomic_long started;
  int rc_future, rc_detached;
  spool_future *out;
  atomic_long count;
} late_submit;

static int submit_after_gate(void *arg, void **result) {
  (void)result;
  late_submit *s = arg;
  atomic_fetch_add(&s->started, 1);
  spool_future_result(s->gate, SPOOL_FOREVER, NULL);
  s->out = (spool_future *)s;
  s->rc_future = spool_submit(s->ex, task_count, &s->count, &s->out);
  s->rc_detached = spool_submit(s->ex, task_count, &s->count, NULL);
  return 0;
}

Test(submit, after_shutdown_is_refused_from_a_task) {
  late_submit s = {.ex = executor_with(1), .rc_future = 1, .rc_detached = 1};
  cr_assert_not_null(s.ex);
  cr_assert_eq(spool_future_create(&s.gate), SPOOL_OK);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(s.ex, submit_after_gate, &s, &f), SPOOL_OK);
  cr_assert(await_at_least(&s.started, 1, TEST_SETTLE_S));
  cr_assert_eq(spool_shutdown(s.ex, false, false), SPOOL_OK);
  cr_assert_eq(spool_future_set_result(s.gate, NULL), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(s.rc_future, SPOOL_ESHUTDOWN);
  cr_assert_null(s.out);
  cr_assert_eq(s.rc_detached, SPOOL_ESHUTDOWN);
  spool_executor_destroy(s.ex);
  cr_assert_eq(atomic_load(&s.count), 0);
  spool_future_release(f);
  spool_future_release(s.gate);
}
