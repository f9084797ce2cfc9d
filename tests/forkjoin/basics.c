/* spool_fork / spool_sync / spool_run: the basics, through the public API.
 *
 *  - fib written with a fork at every call equals the serial fib, on 1, 2
 *    and 4 workers, run after run;
 *  - spool_sync returns the function's code and result (the result NULL
 *    when the code is nonzero); an error deep in a recursion reaches main()
 *    through spool_run; a task's code passes through a sync unchanged,
 *    runtime codes included (DESIGN.md, changed 2026-12), and through a
 *    spool_run called inside a task;
 *  - spool_fork on a thread that is no worker runs the function at once,
 *    and spool_sync returns its outcome;
 *  - NULL: spool_sync(NULL) is SPOOL_EINVAL, spool_fork(NULL, ...) does
 *    nothing, spool_fork(t, NULL, ...) makes spool_sync(t) SPOOL_EINVAL,
 *    on a worker and outside, inline path and library alike;
 *  - spool_run from inside a task calls the function inline (even after
 *    shutdown, when a submission would be refused); from a task of another
 *    executor it submits and waits; its argument errors;
 *  - fork-join and futures mix: a forked function submits, yields and
 *    blocks on results; submitted tasks fork;
 *  - a task that submits many short subtasks and returns without waiting
 *    for them, while the other worker steals and finishes them (debug
 *    builds check, when a task returns, that it left no frame unsynced:
 *    that check must not touch items a thief took and freed; ASan and TSan
 *    see it if it does). */
#include "harness.h"

/* ---- fib ------------------------------------------------------------------ */

static void test_fib(void) {
  static const unsigned counts[] = {1, 2, 4};
  static const char *const names[] = {"fib, 1 worker", "fib, 2 workers", "fib, 4 workers"};
  for (int k = 0; k < 3; k++) {
    harness_phase(names[k]);
    spool_executor *ex = harness_executor(counts[k]);
    spool_stats s0 = harness_stats(ex);
    for (intptr_t n = 0; n <= 22; n += (n < 5 ? 1 : 6)) {
      void *r = NULL;
      CHECK_EQ(spool_run(ex, harness_fib, HARNESS_PTR(n), &r), SPOOL_OK);
      CHECK_EQ((intptr_t)r, harness_fib_serial(n));
    }
    for (int rep = 0; rep < 5; rep++) {
      void *r = NULL;
      CHECK_EQ(spool_run(ex, harness_fib, HARNESS_PTR(20), &r), SPOOL_OK);
      CHECK_EQ((intptr_t)r, 6765);
    }
    spool_stats s1 = harness_stats(ex);
    CHECK(s1.forks > s0.forks);
    spool_executor_destroy(ex);
  }
}

/* ---- error codes ---------------------------------------------------------- */

typedef struct tree_arg {
  int depth;
  unsigned path; /* bits taken so far, left = 0 */
  unsigned bad_path;
  int bad_depth;
  int code;
} tree_arg;

/* A binary recursion that forks the left branch; the leaf at bad_path fails
   with `code`. The first failure (left before right) is returned. */
static int tree(void *arg, void **result) {
  tree_arg *a = arg;
  if (a->depth == a->bad_depth) {
    *result = HARNESS_PTR(1);
    return a->path == a->bad_path ? a->code : 0;
  }
  tree_arg left = *a, right = *a;
  left.depth++;
  right.depth++;
  right.path |= 1u << a->depth;
  spool_task t;
  void *l = NULL, *r = NULL;
  spool_fork(&t, tree, &left);
  int rc_right = tree(&right, &r);
  int rc_left = spool_sync(&t, &l);
  if (rc_left && l != NULL) return 1000; /* the result must be NULL on an error */
  *result = HARNESS_PTR((intptr_t)l + (intptr_t)r);
  return rc_left ? rc_left : rc_right;
}

static int returns_code_and_result(void *arg, void **result) {
  *result = HARNESS_PTR(123);
  return (int)(intptr_t)arg;
}

typedef struct sync_probe {
  int code;
  int got;
  void *result;
  int run_got; /* spool_run's code, called inside the task (inline) */
} sync_probe;

static int sync_one(void *arg, void **result) {
  (void)result;
  sync_probe *p = arg;
  spool_task t;
  spool_fork(&t, returns_code_and_result, HARNESS_PTR(p->code));
  p->result = HARNESS_PTR(999);
  p->got = spool_sync(&t, &p->result);
  p->run_got =
      spool_run(spool_current_executor(), returns_code_and_result, HARNESS_PTR(p->code), NULL);
  return 0;
}

static void test_errors(void) {
  harness_phase("sync's error codes, on 1 and 2 workers");
  for (unsigned workers = 1; workers <= 2; workers++) {
    spool_executor *ex = harness_executor(workers);
    static const int codes[] = {0, 9, -1, -5, 10000, -10003, -10999, -11000};
    for (size_t k = 0; k < sizeof codes / sizeof *codes; k++) {
      int code = codes[k];
      int expected = code; /* unchanged, reserved codes included */
      sync_probe p = {code, 0, NULL, 0};
      CHECK_EQ(spool_run(ex, sync_one, &p, NULL), SPOOL_OK);
      CHECK_EQ(p.got, expected);
      CHECK_EQ(p.run_got, code);
      CHECK(p.result == (expected ? NULL : HARNESS_PTR(123)));
    }
    /* An error deep in a recursion reaches main through spool_run. */
    static const unsigned paths[] = {0, 0x2AA, 0xFFF, 0x801};
    for (size_t k = 0; k < 4; k++) {
      tree_arg a = {0, 0, paths[k], 12, -7 - (int)k};
      void *r = HARNESS_PTR(5);
      CHECK_EQ(spool_run(ex, tree, &a, &r), -7 - (int)k);
      CHECK(r == NULL);
    }
    tree_arg ok = {0, 0, 0, 12, 0};
    void *r = NULL;
    CHECK_EQ(spool_run(ex, tree, &ok, &r), SPOOL_OK);
    CHECK_EQ((intptr_t)r, 4096);
    /* spool_run returns the task's code itself, runtime codes unchanged
       (changed 2026-12: they were mapped to SPOOL_EINVAL). */
    CHECK_EQ(spool_run(ex, returns_code_and_result, HARNESS_PTR(42), &r), 42);
    CHECK(r == NULL);
    CHECK_EQ(spool_run(ex, returns_code_and_result, HARNESS_PTR(SPOOL_ESHUTDOWN), NULL),
             SPOOL_ESHUTDOWN);
    spool_executor_destroy(ex);
  }
}

/* ---- fork outside any worker ---------------------------------------------- */

static _Atomic int ran_on_fork;

static int mark_and_return(void *arg, void **result) {
  atomic_fetch_add(&ran_on_fork, 1);
  *result = HARNESS_PTR((intptr_t)arg * 2);
  return (int)(intptr_t)arg == 3 ? 33 : 0;
}

static void *fork_on_plain_thread(void *arg) {
  (void)arg;
  spool_task t;
  atomic_store(&ran_on_fork, 0);
  spool_fork(&t, mark_and_return, HARNESS_PTR(8));
  bool ran = atomic_load(&ran_on_fork) == 1;
  void *r = NULL;
  int rc = spool_sync(&t, &r);
  return HARNESS_PTR(ran && rc == 0 && (intptr_t)r == 16);
}

static void test_fork_outside(void) {
  harness_phase("fork outside any worker");
  /* No executor at all yet, then with one that this thread is not part of. */
  for (int with_executor = 0; with_executor < 2; with_executor++) {
    spool_executor *ex = with_executor ? harness_executor(2) : NULL;
    spool_task t;
    atomic_store(&ran_on_fork, 0);
    spool_fork(&t, mark_and_return, HARNESS_PTR(5));
    CHECK_EQ(atomic_load(&ran_on_fork), 1); /* ran at once */
    void *r = NULL;
    CHECK_EQ(spool_sync(&t, &r), SPOOL_OK);
    CHECK_EQ((intptr_t)r, 10);
    CHECK_EQ(atomic_load(&ran_on_fork), 1); /* and only once */
    spool_fork(&t, mark_and_return, HARNESS_PTR(3));
    r = HARNESS_PTR(1);
    CHECK_EQ(spool_sync(&t, &r), 33);
    CHECK(r == NULL);
    spool_fork(&t, mark_and_return, HARNESS_PTR(4));
    CHECK_EQ(spool_sync(&t, NULL), SPOOL_OK); /* result may be NULL */
    /* A whole fib outside: every fork runs at once. */
    r = NULL;
    CHECK_EQ(harness_fib(HARNESS_PTR(15), &r), SPOOL_OK);
    CHECK_EQ((intptr_t)r, 610);
    pthread_t th;
    void *ok = NULL;
    CHECK(pthread_create(&th, NULL, fork_on_plain_thread, NULL) == 0);
    pthread_join(th, &ok);
    CHECK(ok == HARNESS_PTR(1));
    spool_executor_destroy(ex);
  }
}

/* ---- NULL arguments -------------------------------------------------------- */

/* Each case both with constants the compiler sees and through volatile
   pointers it cannot see through (the inline path's tests must hold at run
   time too). Run on a worker (as a task) and outside one. */
static int null_checks(void *arg, void **result) {
  (void)arg;
  spool_task *volatile no_task = NULL;
  spool_fn volatile no_fn = NULL;
  void *r = HARNESS_PTR(1);
  CHECK_EQ(spool_sync(NULL, &r), SPOOL_EINVAL);
  CHECK(r == NULL);
  r = HARNESS_PTR(1);
  CHECK_EQ(spool_sync(no_task, &r), SPOOL_EINVAL);
  CHECK(r == NULL);
  CHECK_EQ(spool_sync(no_task, NULL), SPOOL_EINVAL);

  /* A NULL frame forks nothing: the frame forked before it is still the
     one to sync next (a debug build would abort on an out-of-order sync). */
  spool_task t;
  atomic_store(&ran_on_fork, 0);
  spool_fork(&t, mark_and_return, HARNESS_PTR(6));
  spool_fork(NULL, mark_and_return, HARNESS_PTR(7));
  spool_fork(no_task, mark_and_return, HARNESS_PTR(7));
  r = NULL;
  CHECK_EQ(spool_sync(&t, &r), SPOOL_OK);
  CHECK_EQ((intptr_t)r, 12);
  CHECK_EQ(atomic_load(&ran_on_fork), 1);

  /* A NULL function: the sync says SPOOL_EINVAL, even for a frame that
     held a result before. */
  spool_fork(&t, NULL, HARNESS_PTR(8));
  r = HARNESS_PTR(1);
  CHECK_EQ(spool_sync(&t, &r), SPOOL_EINVAL);
  CHECK(r == NULL);
  spool_fork(&t, no_fn, HARNESS_PTR(8));
  r = HARNESS_PTR(1);
  CHECK_EQ(spool_sync(&t, &r), SPOOL_EINVAL);
  CHECK(r == NULL);
  /* Nested inside a valid frame, order kept. */
  spool_task outer, inner;
  spool_fork(&outer, mark_and_return, HARNESS_PTR(2));
  spool_fork(&inner, no_fn, NULL);
  CHECK_EQ(spool_sync(&inner, NULL), SPOOL_EINVAL);
  r = NULL;
  CHECK_EQ(spool_sync(&outer, &r), SPOOL_OK);
  CHECK_EQ((intptr_t)r, 4);
  CHECK_EQ(atomic_load(&ran_on_fork), 2);
  *result = HARNESS_PTR(1);
  return 0;
}

static void test_null(void) {
  harness_phase("NULL frame or function: nothing forked, SPOOL_EINVAL from the sync");
  void *r = NULL;
  CHECK_EQ(null_checks(NULL, &r), SPOOL_OK);
  spool_executor *ex = harness_executor(1);
  spool_stats s0 = harness_stats(ex);
  r = NULL;
  CHECK_EQ(spool_run(ex, null_checks, NULL, &r), SPOOL_OK);
  CHECK(r == HARNESS_PTR(1));
  CHECK_EQ(harness_stats(ex).forks - s0.forks, 2); /* the two valid forks only */
  spool_executor_destroy(ex);
}

/* ---- spool_run inside a task ---------------------------------------------- */

typedef struct inline_probe {
  spool_executor *ex;
  pthread_t outer_thread, inner_thread;
  int outer_worker, inner_worker;
  int depth; /* set by the outer task while it waits in spool_run */
  int inner_saw_depth;
  int rc_after_shutdown;
  _Atomic bool waiting, shut;
} inline_probe;

static int inner(void *arg, void **result) {
  inline_probe *p = arg;
  p->inner_thread = harness_pthread_self();
  p->inner_worker = spool_current_worker();
  p->inner_saw_depth = p->depth;
  *result = HARNESS_PTR(17);
  return 4;
}

static int inner_ok(void *arg, void **result) {
  (void)arg;
  *result = HARNESS_PTR(71);
  return 0;
}

static int outer(void *arg, void **result) {
  (void)result;
  inline_probe *p = arg;
  p->outer_thread = harness_pthread_self();
  p->outer_worker = spool_current_worker();
  p->depth = 1;
  void *r = HARNESS_PTR(1);
  int rc = spool_run(p->ex, inner, p, &r);
  p->depth = 0;
  if (rc != 4 || r != NULL) return 1;
  /* After shutdown: a submission is refused, spool_run still runs inline. */
  atomic_store(&p->waiting, true);
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (!atomic_load(&p->shut) && harness_now() < deadline)
    harness_relax();
  if (spool_submit(p->ex, inner_ok, NULL, NULL) != SPOOL_ESHUTDOWN) return 2;
  p->rc_after_shutdown = spool_run(p->ex, inner_ok, NULL, &r);
  if ((intptr_t)r != 71) return 3;
  return 0;
}

static spool_executor *second_ex;

/* arg: the executor running this task. */
static int run_on_other_executor(void *arg, void **result) {
  void *r = NULL;
  int rc = spool_run(second_ex, harness_fib, HARNESS_PTR(12), &r);
  *result = r;
  if (rc) return rc;
  return spool_current_executor() == arg && spool_current_worker() == 0 ? 0 : 1;
}

static void test_run_inline(void) {
  harness_phase("spool_run inside a task runs inline");
  spool_executor *ex = harness_executor(2);
  inline_probe p;
  memset(&p, 0, sizeof p);
  p.ex = ex;
  spool_stats s0 = harness_stats(ex);
  spool_future *f = harness_submit(ex, outer, &p);
  CHECK(HARNESS_UNTIL(atomic_load(&p.waiting) || spool_future_done(f), 10));
  spool_stats s1 = harness_stats(ex);
  CHECK_EQ(s1.inline_claims, s0.inline_claims); /* nothing was submitted */
  CHECK_EQ(spool_shutdown(ex, false, false), SPOOL_OK);
  atomic_store(&p.shut, true);
  CHECK_EQ(harness_result(f, SPOOL_FOREVER), 0);
  CHECK(pthread_equal(p.outer_thread, p.inner_thread));
  CHECK_EQ(p.inner_worker, p.outer_worker);
  CHECK_EQ(p.inner_saw_depth, 1);
  CHECK_EQ(p.rc_after_shutdown, SPOOL_OK);
  spool_future_release(f);
  /* From outside, after shutdown: refused. */
  CHECK_EQ(spool_run(ex, inner_ok, NULL, NULL), SPOOL_ESHUTDOWN);
  spool_executor_destroy(ex);

  harness_phase("spool_run from a task of another executor, and its argument errors");
  ex = harness_executor(1);
  second_ex = harness_executor(2);
  void *r = NULL;
  CHECK_EQ(spool_run(ex, run_on_other_executor, ex, &r), SPOOL_OK);
  CHECK_EQ((intptr_t)r, 144);
  r = HARNESS_PTR(1);
  CHECK_EQ(spool_run(NULL, inner_ok, NULL, &r), SPOOL_EINVAL);
  CHECK(r == NULL);
  CHECK_EQ(spool_run(ex, NULL, NULL, NULL), SPOOL_EINVAL);
  spool_executor_destroy(second_ex);
  spool_executor_destroy(ex);
}

/* ---- mixing fork-join and futures ----------------------------------------- */

static int fib_task(void *arg, void **result) {
  return harness_fib(arg, result); /* a submitted task that forks */
}

/* A forked function that submits a task, yields on it, then blocks on
   another's result, then forks again. */
static int mixed(void *arg, void **result) {
  intptr_t n = (intptr_t)arg;
  spool_executor *ex = spool_current_executor();
  spool_future *a = NULL, *b = NULL;
  if (spool_submit(ex, fib_task, HARNESS_PTR(n), &a) != SPOOL_OK) return 1;
  if (spool_submit(ex, fib_task, HARNESS_PTR(n + 1), &b) != SPOOL_OK) return 1;
  int rc = spool_future_yield_until_done(a);
  void *va = NULL, *vb = NULL, *vc = NULL;
  if (rc == SPOOL_OK) rc = spool_future_result(a, 0, &va);
  if (rc == SPOOL_OK) rc = spool_future_result(b, SPOOL_FOREVER, &vb);
  spool_future_release(a);
  spool_future_release(b);
  spool_task t;
  spool_fork(&t, harness_fib, HARNESS_PTR(n + 2));
  int rc2 = spool_sync(&t, &vc);
  *result = HARNESS_PTR((intptr_t)va + (intptr_t)vb + (intptr_t)vc);
  return rc ? rc : rc2;
}

static int mixed_root(void *arg, void **result) {
  (void)arg;
  spool_task ts[8];
  for (int i = 0; i < 8; i++)
    spool_fork(&ts[i], mixed, HARNESS_PTR(8 + i));
  intptr_t sum = 0;
  int bad = 0;
  for (int i = 7; i >= 0; i--) {
    void *v = NULL;
    bad |= spool_sync(&ts[i], &v);
    sum += (intptr_t)v;
  }
  *result = HARNESS_PTR(sum);
  return bad;
}

static void test_mixing(void) {
  harness_phase("fork-join mixed with submit, yield and result");
  intptr_t expected = 0;
  for (int i = 0; i < 8; i++)
    expected += harness_fib_serial(8 + i) + harness_fib_serial(9 + i) + harness_fib_serial(10 + i);
  for (unsigned workers = 1; workers <= 4; workers *= 2) {
    spool_executor *ex = harness_executor(workers);
    for (int rep = 0; rep < 5; rep++) {
      void *r = NULL;
      CHECK_EQ(spool_run(ex, mixed_root, NULL, &r), SPOOL_OK);
      CHECK_EQ((intptr_t)r, expected);
    }
    CHECK_EQ(spool_join(ex, 10.0 * harness_slowness()), SPOOL_OK);
    spool_executor_destroy(ex);
  }
}

static _Atomic int leaves_run;

static int leaf(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_fetch_add_explicit(&leaves_run, 1, memory_order_relaxed);
  return 0;
}

#define SPAWNED     2000
#define RETURN_REPS 150

static int spawn_and_return(void *arg, void **result) {
  (void)result;
  spool_executor *ex = spool_current_executor();
  bool with_futures = arg != NULL;
  for (int i = 0; i < SPAWNED; i++) {
    spool_future *f = NULL;
    if (spool_submit(ex, leaf, NULL, with_futures ? &f : NULL) != SPOOL_OK) return 1;
    spool_future_release(f);
  }
  return 0; /* the subtasks lie in this worker's deque; a thief takes some */
}

static void test_return_with_queued_subtasks(void) {
  harness_phase("a task returns while thieves take the subtasks it submitted");
  spool_executor *ex = harness_executor(2);
  atomic_store(&leaves_run, 0);
  for (int rep = 0; rep < RETURN_REPS; rep++) {
    CHECK_EQ(spool_run(ex, spawn_and_return, rep % 2 ? HARNESS_PTR(1) : NULL, NULL), SPOOL_OK);
    CHECK_EQ(spool_join(ex, 20.0 * harness_slowness()), SPOOL_OK);
  }
  CHECK_EQ(atomic_load(&leaves_run), RETURN_REPS * SPAWNED);
  spool_executor_destroy(ex);
}

int main(void) {
  test_fork_outside();
  test_null();
  test_fib();
  test_errors();
  test_run_inline();
  test_mixing();
  test_return_with_queued_subtasks();
  harness_watchdog_off();
  return harness_report();
}
