/* The allocation-failure scenario: one run through the whole public API,
 * linked with the faults build of the library (inject.h), so that the
 * sweep (sweep.py) can fail the library's Nth allocation, mmap,
 * mprotect, pthread_create or hwloc call, in one run after another.
 *
 * What it checks, in every run:
 *   - each call returns one of the codes its situation documents, or
 *     SPOOL_ENOMEM once a failure has been injected (never before);
 *     out-parameters are NULL on failure;
 *   - every result that is reported as a success is the right one; a task
 *     whose own call failed for lack of memory reports TASK_NOMEM;
 *   - once every executor is destroyed and every future released, the
 *     library holds nothing (no block, mapping, thread, hwloc object).
 * Crashes and hangs are the driver's to catch (it kills a run that takes
 * too long). Without an injected failure, every check is exact.
 *
 * Prints "fault-summary: calls=C injected=I leaks=L" (the driver reads it)
 * and "N passed, M failed"; exits nonzero on any failure. */
#include "inject.h"

void topology_cache_release(void); /* runtime/internal.h */
void group_registry_release(void);

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spool.h"

/* A task's code for "a call I made returned SPOOL_ENOMEM" (positive, so it
   passes through whatever the runtime does with its own block). */
#define TASK_NOMEM 7001

/* relaxed: read by main() after the threads that count have been joined. */
static _Atomic unsigned passed, failed;

static bool faulting(void) {
  return fault_injected() > 0;
}

static bool check_at(bool ok, const char *what, int line) {
  if (ok) {
    atomic_fetch_add_explicit(&passed, 1, memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(&failed, 1, memory_order_relaxed);
    fprintf(stderr, "scenario.c:%d: check failed: %s\n", line, what);
  }
  return ok;
}
#define CHECK(cond) check_at((cond) ? true : false, #cond, __LINE__)

/* rc is one of the `n` allowed codes, or SPOOL_ENOMEM once a failure has
   been injected. Returns rc. */
static int expect_rc_at(int rc, const char *call, int line, int n, ...) {
  va_list ap;
  va_start(ap, n);
  bool ok = false;
  for (int i = 0; i < n; i++)
    if (va_arg(ap, int) == rc) ok = true;
  va_end(ap);
  if (rc == SPOOL_ENOMEM && faulting()) ok = true;
  if (ok) {
    atomic_fetch_add_explicit(&passed, 1, memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(&failed, 1, memory_order_relaxed);
    fprintf(stderr, "scenario.c:%d: %s returned %d (%s)\n", line, call, rc, spool_strerror(rc));
  }
  return rc;
}
#define NARGS_(...)                    NARGS__(__VA_ARGS__, 5, 4, 3, 2, 1, 0)
#define NARGS__(a, b, c, d, e, n, ...) n
#define EXPECT(call, ...)              expect_rc_at((call), #call, __LINE__, NARGS_(__VA_ARGS__), __VA_ARGS__)

/* A task's outcome: `want` with `expected` as result, or TASK_NOMEM once
   failures are injected. */
static void expect_outcome_at(int rc, void *result, int want, intptr_t expected, int line) {
  if (rc == TASK_NOMEM && faulting()) {
    atomic_fetch_add_explicit(&passed, 1, memory_order_relaxed);
    return;
  }
  if (rc != want || (rc == 0 && (intptr_t)result != expected)) {
    atomic_fetch_add_explicit(&failed, 1, memory_order_relaxed);
    fprintf(stderr, "scenario.c:%d: outcome %d / %ld, expected %d / %ld\n", line, rc,
            (long)(intptr_t)result, want, (long)expected);
    return;
  }
  atomic_fetch_add_explicit(&passed, 1, memory_order_relaxed);
}
#define EXPECT_OUTCOME(rc, result, want, expected)                                                 \
  expect_outcome_at((rc), (result), (want), (expected), __LINE__)

static int nomem_to_task(int rc) {
  return rc == SPOOL_ENOMEM ? TASK_NOMEM : rc;
}

/* ---- Tasks --------------------------------------------------------------- */

static int task_square(void *arg, void **result) {
  intptr_t x = (intptr_t)arg;
  *result = (void *)(x * x);
  return 0;
}

static int task_fail(void *arg, void **result) {
  (void)result;
  return (int)(intptr_t)arg;
}

static _Atomic long detached_sum;
static int task_add(void *arg, void **result) {
  (void)result;
  atomic_fetch_add_explicit(&detached_sum, (long)(intptr_t)arg, memory_order_relaxed);
  return 0;
}

/* fib by spool_fork / spool_sync. */
static int task_fib(void *arg, void **result) {
  intptr_t n = (intptr_t)arg;
  if (n < 2) {
    *result = (void *)n;
    return 0;
  }
  spool_task t;
  spool_fork(&t, task_fib, (void *)(n - 1));
  void *b = NULL;
  int eb = task_fib((void *)(n - 2), &b);
  void *a = NULL;
  int ea = spool_sync(&t, &a);
  if (ea) return ea;
  if (eb) return eb;
  *result = (void *)((intptr_t)a + (intptr_t)b);
  return 0;
}

static intptr_t fib_serial(intptr_t n) {
  return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

/* Submits `arg` children (squares of 1..arg) from inside the task and
   yields until they are done; the sum of the squares. Half of the children
   are awaited together, the rest one by one. */
#define YIELD_CHILDREN_MAX 24
static int task_yield_parent(void *arg, void **result) {
  spool_executor *ex = spool_current_executor();
  intptr_t n = (intptr_t)arg;
  spool_future *kids[YIELD_CHILDREN_MAX];
  int rc = 0;
  intptr_t made = 0;
  for (; made < n; made++) {
    rc = spool_submit(ex, task_square, (void *)(made + 1), &kids[made]);
    if (rc) break;
  }
  intptr_t sum = 0;
  if (rc == 0) {
    size_t half = (size_t)n / 2;
    rc = spool_yield_until_done(kids, half);
    for (size_t i = half; rc == 0 && i < (size_t)n; i++)
      rc = spool_future_yield_until_done(kids[i]);
    for (intptr_t i = 0; rc == 0 && i < n; i++) {
      void *r;
      /* done: the wait returns at once */
      rc = spool_future_result(kids[i], 0, &r);
      sum += (intptr_t)r;
    }
  }
  for (intptr_t i = 0; i < made; i++)
    spool_future_release(kids[i]);
  if (rc) return nomem_to_task(rc);
  *result = (void *)sum;
  return 0;
}

/* A tree of yields: depth d submits two children of depth d-1 and yields
   on them; the number of leaves. */
static int task_yield_tree(void *arg, void **result) {
  intptr_t d = (intptr_t)arg;
  if (d == 0) {
    *result = (void *)1;
    return 0;
  }
  spool_executor *ex = spool_current_executor();
  spool_future *kids[2] = {NULL, NULL};
  int rc = spool_submit(ex, task_yield_tree, (void *)(d - 1), &kids[0]);
  if (!rc) rc = spool_submit(ex, task_yield_tree, (void *)(d - 1), &kids[1]);
  if (!rc) rc = spool_yield_until_done(kids, 2);
  intptr_t leaves = 0;
  for (int i = 0; !rc && i < 2; i++) {
    void *r;
    rc = spool_future_result(kids[i], 0, &r);
    leaves += (intptr_t)r;
  }
  spool_future_release(kids[0]);
  spool_future_release(kids[1]);
  if (rc) return nomem_to_task(rc);
  *result = (void *)leaves;
  return 0;
}

/* Submit, then block on the result from the worker: the child is run
   inline (or has run). */
static int task_submit_then_result(void *arg, void **result) {
  spool_future *f;
  int rc = spool_submit(spool_current_executor(), task_square, arg, &f);
  if (rc) return nomem_to_task(rc);
  void *r = NULL;
  rc = spool_future_result(f, SPOOL_FOREVER, &r);
  spool_future_release(f);
  if (rc) return nomem_to_task(rc);
  *result = r;
  return 0;
}

/* From a task of one executor, a submit to another acts as from outside. */
static int task_other_executor(void *arg, void **result) {
  spool_future *f;
  int rc = spool_submit((spool_executor *)arg, task_square, (void *)5, &f);
  if (rc) return nomem_to_task(rc);
  void *r = NULL;
  rc = spool_future_result(f, SPOOL_FOREVER, &r);
  spool_future_release(f);
  if (rc) return nomem_to_task(rc);
  *result = r;
  return 0;
}

/* Blocks its worker until the gate (a created future) is set. */
static _Atomic unsigned blockers_started;
static int task_blocker(void *arg, void **result) {
  atomic_fetch_add_explicit(&blockers_started, 1, memory_order_release);
  return spool_future_result((spool_future *)arg, SPOOL_FOREVER, result);
}

/* ---- Callbacks ----------------------------------------------------------- */

static _Atomic unsigned callbacks_run;
static void cb_count(spool_future *f, void *user) {
  (void)f;
  (void)user;
  atomic_fetch_add_explicit(&callbacks_run, 1, memory_order_relaxed);
}

/* Releases the reference the adder retained for it. */
static void cb_release(spool_future *f, void *user) {
  (void)user;
  atomic_fetch_add_explicit(&callbacks_run, 1, memory_order_relaxed);
  spool_future_release(f);
}

/* Submits a fire-and-forget task from the completing thread. */
static void cb_submit(spool_future *f, void *user) {
  (void)f;
  atomic_fetch_add_explicit(&callbacks_run, 1, memory_order_relaxed);
  EXPECT(spool_submit((spool_executor *)user, task_add, (void *)1000, NULL), SPOOL_OK);
}

static int init_ok(void *arg) {
  (void)arg;
  return 0;
}

static int init_fail_on_worker_1(void *arg) {
  (void)arg;
  return spool_current_worker() == 1 ? 5 : 0;
}

/* ---- Phases -------------------------------------------------------------- */

#define NTASKS 20 /* above 16: wait and as_completed allocate their arrays */

static spool_executor *make_executor(unsigned workers, unsigned max_fibers, bool catch_overflow,
                                     int (*init)(void *)) {
  spool_config c;
  spool_config_init(&c);
  c.workers = workers;
  c.max_fibers = max_fibers;
  c.catch_stack_overflow = catch_overflow;
  c.thread_name_prefix = "faults";
  c.initializer = init;
  spool_executor *ex = (spool_executor *)1;
  int rc = EXPECT(spool_executor_create(&ex, &c), SPOOL_OK);
  if (rc) {
    CHECK(ex == NULL);
    return NULL;
  }
  CHECK(spool_executor_workers(ex) == workers);
  return ex;
}

/* Releases the non-NULL futures of fs. */
static void release_all(spool_future **fs, size_t n) {
  for (size_t i = 0; i < n; i++)
    spool_future_release(fs[i]);
}

static void phase_results(spool_executor *ex) {
  spool_future *fs[NTASKS];
  size_t n = 0;
  for (intptr_t i = 0; i < NTASKS; i++) {
    spool_future *f = (spool_future *)1;
    if (EXPECT(spool_submit(ex, task_square, (void *)i, &f), SPOOL_OK) == 0)
      fs[n++] = f;
    else
      CHECK(f == NULL);
  }
  size_t ndone = 0;
  if (EXPECT(spool_wait(fs, n, SPOOL_FOREVER, SPOOL_ALL_COMPLETED, &ndone), SPOOL_OK) == 0)
    CHECK(ndone == n);
  for (size_t i = 0; i < n; i++) {
    void *r = NULL;
    int rc = spool_future_result(fs[i], SPOOL_FOREVER, &r);
    CHECK(rc == 0);
    /* wait reorders fs: check the value is a square of 0..NTASKS-1 */
    intptr_t v = (intptr_t)r, root = 0;
    while (root * root < v)
      root++;
    CHECK(root * root == v && root < NTASKS);
  }
  release_all(fs, n);

  /* An error, through result and exception; polls and a finite timeout. */
  spool_future *f;
  if (EXPECT(spool_submit(ex, task_fail, (void *)42, &f), SPOOL_OK) == 0) {
    CHECK(spool_future_exception(f, SPOOL_FOREVER) == 42);
    void *r = (void *)1;
    CHECK(spool_future_result(f, 0, &r) == 42 && r == NULL);
    CHECK(spool_future_done(f) && !spool_future_cancelled(f) && !spool_future_running(f));
    CHECK(spool_future_executor(f) == ex);
    spool_future_release(f);
  }
  if (EXPECT(spool_submit(ex, task_square, (void *)9, &f), SPOOL_OK) == 0) {
    void *r = NULL;
    int rc = EXPECT(spool_future_result(f, 0, &r), SPOOL_OK, SPOOL_ETIMEDOUT);
    if (rc == 0) CHECK((intptr_t)r == 81);
    rc = spool_future_result(f, 30.0, &r);
    EXPECT_OUTCOME(rc, r, 0, 81);
    spool_future_release(f);
  }
  if (EXPECT(spool_submit(ex, task_submit_then_result, (void *)7, &f), SPOOL_OK) == 0) {
    void *r = NULL;
    int rc = spool_future_result(f, SPOOL_FOREVER, &r);
    EXPECT_OUTCOME(rc, r, 0, 49);
    spool_future_release(f);
  }
}

static void phase_detached(spool_executor *ex) {
  atomic_store(&detached_sum, 0);
  long want = 0;
  for (intptr_t i = 1; i <= 10; i++)
    if (EXPECT(spool_submit(ex, task_add, (void *)i, NULL), SPOOL_OK) == 0) want += i;
  CHECK(EXPECT(spool_join(ex, SPOOL_FOREVER), SPOOL_OK) != 0 || atomic_load(&detached_sum) == want);
  /* A failing fire-and-forget task: the next join reports it. */
  if (EXPECT(spool_submit(ex, task_fail, (void *)43, NULL), SPOOL_OK) == 0)
    EXPECT(spool_join(ex, 30.0), 43);
  EXPECT(spool_join(ex, 0), SPOOL_OK);
}

static void phase_callbacks_and_created(spool_executor *ex) {
  atomic_store(&callbacks_run, 0);
  spool_future *f = (spool_future *)1;
  if (EXPECT(spool_future_create(&f), SPOOL_OK) != 0) {
    CHECK(f == NULL);
    return;
  }
  CHECK(spool_future_executor(f) == NULL);
  unsigned added = 0;
  if (EXPECT(spool_future_add_done_callback(f, cb_count, NULL), SPOOL_OK) == 0) added++;
  spool_future_retain(f);
  if (EXPECT(spool_future_add_done_callback(f, cb_release, NULL), SPOOL_OK) == 0)
    added++;
  else
    spool_future_release(f);
  if (EXPECT(spool_future_add_done_callback(f, cb_submit, ex), SPOOL_OK) == 0) added++;
  CHECK(atomic_load(&callbacks_run) == 0);
  EXPECT(spool_future_set_result(f, (void *)5), SPOOL_OK);
  CHECK(atomic_load(&callbacks_run) == added);
  /* Added after completion: runs at once. */
  if (EXPECT(spool_future_add_done_callback(f, cb_count, NULL), SPOOL_OK) == 0) added++;
  CHECK(atomic_load(&callbacks_run) == added);
  EXPECT(spool_future_set_result(f, NULL), SPOOL_ESTATE);
  EXPECT(spool_future_set_exception(f, 3), SPOOL_ESTATE);
  void *r = NULL;
  CHECK(spool_future_result(f, 0, &r) == 0 && (intptr_t)r == 5);
  spool_future_release(f);

  if (EXPECT(spool_future_create(&f), SPOOL_OK) == 0) {
    EXPECT(spool_future_set_exception(f, 0), SPOOL_EINVAL);
    EXPECT(spool_future_set_exception(f, -7), SPOOL_OK);
    CHECK(spool_future_exception(f, 0) == -7);
    spool_future_release(f);
  }
  EXPECT(spool_join(ex, SPOOL_FOREVER), SPOOL_OK); /* the callback's task */
}

/* spool_wait in its three modes and as_completed, on created futures that
   this thread completes (so the order is known) and on tasks. */
static void phase_wait_many(spool_executor *ex) {
  spool_future *fs[NTASKS + 1];
  size_t n = 0;
  for (int i = 0; i < NTASKS; i++) {
    spool_future *f;
    if (EXPECT(spool_future_create(&f), SPOOL_OK) == 0) fs[n++] = f;
  }
  size_t ndone = 99;
  if (n >= 2) {
    if (EXPECT(spool_wait(fs, n, 0, SPOOL_FIRST_COMPLETED, &ndone), SPOOL_ETIMEDOUT) ==
        SPOOL_ETIMEDOUT)
      CHECK(ndone == 0);
    EXPECT(spool_future_set_result(fs[n - 1], (void *)1), SPOOL_OK);
    if (EXPECT(spool_wait(fs, n, SPOOL_FOREVER, SPOOL_FIRST_COMPLETED, &ndone), SPOOL_OK) == 0)
      CHECK(ndone == 1 && spool_future_done(fs[0]));
    /* (a wait that failed did not reorder fs: look for one not done) */
    size_t second = 0;
    while (second < n && spool_future_done(fs[second]))
      second++;
    CHECK(second < n);
    EXPECT(spool_future_set_exception(fs[second], 11), SPOOL_OK);
    if (EXPECT(spool_wait(fs, n, 10.0, SPOOL_FIRST_EXCEPTION, &ndone), SPOOL_OK) == 0)
      CHECK(ndone == 2);
    /* as_completed over the created futures, one of them twice. */
    spool_as_completed *it = (spool_as_completed *)1;
    fs[n] = fs[0];
    if (EXPECT(spool_as_completed_begin(&it, fs, n + 1), SPOOL_OK) == 0) {
      spool_future *next = (spool_future *)1;
      size_t seen = 0;
      int rc;
      while ((rc = spool_as_completed_next(it, 0, &next)) == SPOOL_OK)
        seen++;
      EXPECT(rc, SPOOL_ETIMEDOUT);
      CHECK(next == NULL);
      CHECK(seen == 2);
      for (size_t i = 0; i < n; i++)
        if (!spool_future_done(fs[i])) EXPECT(spool_future_set_result(fs[i], NULL), SPOOL_OK);
      while ((rc = spool_as_completed_next(it, SPOOL_FOREVER, &next)) == SPOOL_OK)
        seen++;
      EXPECT(rc, SPOOL_EEXHAUSTED);
      CHECK(seen == n);
      spool_as_completed_end(it);
    } else {
      CHECK(it == NULL);
    }
    for (size_t i = 0; i < n; i++)
      if (!spool_future_done(fs[i])) spool_future_set_result(fs[i], NULL);
    if (EXPECT(spool_wait(fs, n, SPOOL_FOREVER, SPOOL_ALL_COMPLETED, &ndone), SPOOL_OK) == 0)
      CHECK(ndone == n);
  }
  release_all(fs, n);

  /* as_completed over tasks. */
  n = 0;
  for (intptr_t i = 0; i < NTASKS; i++) {
    spool_future *f;
    if (EXPECT(spool_submit(ex, task_square, (void *)i, &f), SPOOL_OK) == 0) fs[n++] = f;
  }
  spool_as_completed *it;
  if (EXPECT(spool_as_completed_begin(&it, fs, n), SPOOL_OK) == 0) {
    spool_future *next;
    size_t seen = 0;
    int rc;
    while ((rc = spool_as_completed_next(it, 30.0, &next)) == SPOOL_OK) {
      CHECK(spool_future_done(next));
      seen++;
    }
    EXPECT(rc, SPOOL_EEXHAUSTED);
    CHECK(seen == n);
    spool_as_completed_end(it);
  }
  release_all(fs, n);
}

static void phase_yield_and_forkjoin(spool_executor *ex) {
  spool_future *f;
  if (EXPECT(spool_submit(ex, task_yield_parent, (void *)YIELD_CHILDREN_MAX, &f), SPOOL_OK) == 0) {
    void *r = NULL;
    int rc = spool_future_result(f, SPOOL_FOREVER, &r);
    intptr_t m = YIELD_CHILDREN_MAX;
    EXPECT_OUTCOME(rc, r, 0, m * (m + 1) * (2 * m + 1) / 6);
    spool_future_release(f);
  }
  void *r = NULL;
  int rc = spool_run(ex, task_fib, (void *)16, &r);
  EXPECT_OUTCOME(rc == SPOOL_ENOMEM && faulting() ? TASK_NOMEM : rc, r, 0, fib_serial(16));
  /* On a thread that is no worker, fork runs at once. */
  spool_task t;
  spool_fork(&t, task_square, (void *)3);
  r = NULL;
  CHECK(spool_sync(&t, &r) == 0 && (intptr_t)r == 9);
  /* Outside a task, the yields block like wait. */
  if (EXPECT(spool_submit(ex, task_square, (void *)4, &f), SPOOL_OK) == 0) {
    EXPECT(spool_future_yield_until_done(f), SPOOL_OK);
    CHECK(spool_future_done(f));
    spool_future_release(f);
  }
}

/* Both workers blocked on a gate, so queued tasks stay queued: cancel
   them, then shut down with cancel_futures. */
static void phase_cancel_and_shutdown(spool_executor *ex) {
  spool_future *gate;
  if (EXPECT(spool_future_create(&gate), SPOOL_OK) != 0) return;
  atomic_store(&blockers_started, 0);
  spool_future *blockers[2];
  unsigned nblockers = 0;
  for (int i = 0; i < 2; i++)
    if (EXPECT(spool_submit(ex, task_blocker, gate, &blockers[nblockers]), SPOOL_OK) == 0)
      nblockers++;
  /* Wait (bounded) until the blockers hold the workers. */
  for (int spins = 0; atomic_load_explicit(&blockers_started, memory_order_acquire) < nblockers &&
                      spins < 10000000;
       spins++)
    sched_yield();
  CHECK(atomic_load(&blockers_started) == nblockers);
  bool all_blocked = nblockers == 2;

  spool_future *queued[4];
  unsigned nqueued = 0;
  for (intptr_t i = 0; i < 4; i++)
    if (EXPECT(spool_submit(ex, task_square, (void *)i, &queued[nqueued]), SPOOL_OK) == 0)
      nqueued++;
  atomic_store(&callbacks_run, 0);
  unsigned added = 0;
  for (unsigned i = 0; i < nqueued; i++) {
    if (EXPECT(spool_future_add_done_callback(queued[i], cb_count, NULL), SPOOL_OK) == 0) added++;
  }
  /* Cancel the first two; shutdown(cancel_futures) the rest. */
  for (unsigned i = 0; i < nqueued && i < 2; i++) {
    bool cancelled = spool_future_cancel(queued[i]);
    CHECK(cancelled || !all_blocked);
    if (cancelled) {
      CHECK(spool_future_cancelled(queued[i]) && spool_future_done(queued[i]));
      void *r = (void *)1;
      CHECK(spool_future_result(queued[i], 0, &r) == SPOOL_ECANCELLED && r == NULL);
    }
  }
  /* Fire-and-forget tasks queued behind: dropped by the shutdown. */
  for (intptr_t i = 0; i < 3; i++)
    EXPECT(spool_submit(ex, task_add, (void *)i, NULL), SPOOL_OK);
  EXPECT(spool_shutdown(ex, false, true), SPOOL_OK);
  for (unsigned i = 0; i < nqueued; i++)
    CHECK(spool_future_done(queued[i]) && (spool_future_cancelled(queued[i]) || !all_blocked));
  CHECK(atomic_load(&callbacks_run) == added);
  spool_future *late = (spool_future *)1;
  CHECK(spool_submit(ex, task_square, (void *)1, &late) == SPOOL_ESHUTDOWN && late == NULL);
  CHECK(spool_submit(ex, task_add, (void *)1, NULL) == SPOOL_ESHUTDOWN);

  spool_stats st;
  CHECK(spool_stats_read(ex, -1, &st) == 0);
  CHECK(spool_stats_read(ex, 0, &st) == 0);
  CHECK(spool_stats_read(ex, 2, &st) == SPOOL_EINVAL);
  if (all_blocked) {
    CHECK(spool_stats_read(ex, -1, &st) == 0 && st.cancelled >= nqueued);
  }

  EXPECT(spool_future_set_result(gate, (void *)77), SPOOL_OK);
  EXPECT(spool_shutdown(ex, true, false), SPOOL_OK);
  EXPECT(spool_shutdown(ex, true, true), SPOOL_OK); /* idempotent */
  for (unsigned i = 0; i < nblockers; i++) {
    void *r = NULL;
    CHECK(spool_future_result(blockers[i], 0, &r) == 0 && (intptr_t)r == 77);
  }
  release_all(blockers, nblockers);
  release_all(queued, nqueued);
  spool_future_release(gate);
}

/* FIRST_EXCEPTION over tasks, a task waiting on a second executor, and a
   created future cancelled with a callback on it. */
static void phase_exceptions_and_two_executors(spool_executor *ex) {
  spool_future *fs[NTASKS];
  size_t n = 0;
  for (intptr_t i = 0; i < NTASKS; i++) {
    spool_future *f;
    if (EXPECT(spool_submit(ex, i == NTASKS / 2 ? task_fail : task_square,
                            (void *)(i == NTASKS / 2 ? 44 : i), &f),
               SPOOL_OK) == 0)
      fs[n++] = f;
  }
  size_t ndone = 0;
  if (EXPECT(spool_wait(fs, n, SPOOL_FOREVER, SPOOL_FIRST_EXCEPTION, &ndone), SPOOL_OK) == 0) {
    bool any_error = false;
    for (size_t i = 0; i < ndone; i++)
      any_error |= spool_future_exception(fs[i], 0) == 44;
    CHECK(ndone == n || any_error);
  }
  EXPECT(spool_wait(fs, n, SPOOL_FOREVER, SPOOL_ALL_COMPLETED, &ndone), SPOOL_OK);
  release_all(fs, n);

  spool_executor *other = make_executor(1, 16, false, NULL);
  if (other) {
    spool_future *f;
    if (EXPECT(spool_submit(ex, task_other_executor, other, &f), SPOOL_OK) == 0) {
      void *r = NULL;
      int rc = spool_future_result(f, SPOOL_FOREVER, &r);
      EXPECT_OUTCOME(rc, r, 0, 25);
      spool_future_release(f);
    }
    spool_executor_destroy(other);
  }

  spool_future *created;
  if (EXPECT(spool_future_create(&created), SPOOL_OK) == 0) {
    atomic_store(&callbacks_run, 0);
    int rc = EXPECT(spool_future_add_done_callback(created, cb_count, NULL), SPOOL_OK);
    CHECK(spool_future_cancel(created) && spool_future_cancelled(created));
    CHECK(atomic_load(&callbacks_run) == (rc == 0 ? 1u : 0u));
    EXPECT(spool_future_set_result(created, NULL), SPOOL_ESTATE);
    spool_future_release(created);
  }
}

/* ---- Issue 10's APIs: loops, map, copies, groups, cooperative waits ------ */

#define LOOP_N 5000
static unsigned char loop_seen[LOOP_N];

/* Marks its indices; fails with code 31 at index 4321 when ctx says so. */
static int body_mark(size_t lo, size_t hi, void *ctx) {
  bool fail = ctx != NULL;
  for (size_t i = lo; i < hi; i++) {
    if (fail && i == 4321) return 31;
    loop_seen[i]++;
  }
  return 0;
}

static int body_sum(size_t lo, size_t hi, void *ctx) {
  atomic_long *sum = ctx;
  long s = 0;
  for (size_t i = lo; i < hi; i++)
    s += (long)i;
  atomic_fetch_add_explicit(sum, s, memory_order_relaxed);
  return 0;
}

/* A loop nested in a task (fork-join inside it): the sum of [0, n). */
static int task_nested_loop(void *arg, void **result) {
  atomic_long sum = 0;
  int rc = spool_for(spool_current_executor(), 0, (size_t)(intptr_t)arg, 0, body_sum, &sum);
  if (rc) return nomem_to_task(rc);
  *result = (void *)(intptr_t)atomic_load_explicit(&sum, memory_order_relaxed);
  return 0;
}

static int task_square_fail5(void *arg, void **result) {
  intptr_t x = (intptr_t)arg;
  if (x == 5) return 55;
  *result = (void *)(x * x);
  return 0;
}

/* Copied arguments: each task checks its bytes and adds its value. Large
   (over 256 bytes: its own allocation, with or without a future) and small
   (32 bytes: inside the task item, or inside the future's allocation). */
struct large_arg {
  long value;
  unsigned char fill[300];
};
struct small_arg {
  long value;
  unsigned char fill[24];
};
#define FILL(a, v)                                                                                 \
  do {                                                                                             \
    (a).value = (v);                                                                               \
    for (size_t i_ = 0; i_ < sizeof(a).fill; i_++)                                                 \
      (a).fill[i_] = (unsigned char)((v) + (long)i_);                                              \
  } while (0)
#define ADD_IF_INTACT(a)                                                                           \
  do {                                                                                             \
    for (size_t i_ = 0; i_ < sizeof(a)->fill; i_++)                                                \
      if ((a)->fill[i_] != (unsigned char)((a)->value + (long)i_)) return 77;                      \
    atomic_fetch_add_explicit(&detached_sum, (a)->value, memory_order_relaxed);                    \
  } while (0)
static int task_add_large(void *arg, void **result) {
  (void)result;
  const struct large_arg *c = arg;
  ADD_IF_INTACT(c);
  return 0;
}
static int task_add_small(void *arg, void **result) {
  (void)result;
  const struct small_arg *c = arg;
  ADD_IF_INTACT(c);
  return 0;
}

/* A group member that submits `arg` fire-and-forget children (members
   too); each adds 1. */
static int task_member_spawner(void *arg, void **result) {
  (void)result;
  spool_executor *ex = spool_current_executor();
  atomic_fetch_add_explicit(&detached_sum, 1, memory_order_relaxed);
  for (intptr_t i = 0; i < (intptr_t)arg; i++) {
    int rc = spool_submit(ex, task_add, (void *)1, NULL);
    if (rc) return nomem_to_task(rc);
  }
  return 0;
}

/* A cooperative wait with a deadline on a future nobody completes. */
static int task_yield_wait_times_out(void *arg, void **result) {
  (void)result;
  spool_future *never = arg;
  size_t ndone = 9;
  int rc = spool_yield_wait(&never, 1, 0.001, SPOOL_ALL_COMPLETED, &ndone);
  if (rc == SPOOL_ETIMEDOUT && ndone == 0) return 0;
  return rc ? nomem_to_task(rc) : 99;
}

static void phase_loops_copies_groups(spool_executor *ex) {
  /* spool_for from outside, automatic and fixed grain. */
  memset(loop_seen, 0, sizeof loop_seen);
  if (EXPECT(spool_for(ex, 0, LOOP_N, 0, body_mark, NULL), SPOOL_OK) == 0) {
    bool once = true;
    for (size_t i = 0; i < LOOP_N; i++)
      once = once && loop_seen[i] == 1;
    CHECK(once);
  }
  memset(loop_seen, 0, sizeof loop_seen);
  EXPECT(spool_for(ex, 0, LOOP_N, 7, body_mark, (void *)1), 31);
  /* A loop nested in a task. */
  void *r = NULL;
  int rc = spool_run(ex, task_nested_loop, (void *)LOOP_N, &r);
  EXPECT_OUTCOME(rc == SPOOL_ENOMEM && faulting() ? TASK_NOMEM : rc, r, 0,
                 (intptr_t)LOOP_N * (LOOP_N - 1) / 2);

  /* spool_map: every item runs; the failing item's code comes back. */
  void *args[NTASKS], *results[NTASKS];
  int errors[NTASKS];
  for (intptr_t i = 0; i < NTASKS; i++)
    args[i] = (void *)i;
  if (EXPECT(spool_map(ex, task_square_fail5, args, NTASKS, results, errors), 55) == 55) {
    bool right = true;
    for (intptr_t i = 0; i < NTASKS; i++)
      right = right && (i == 5 ? errors[i] == 55 && results[i] == NULL
                               : errors[i] == 0 && (intptr_t)results[i] == i * i);
    CHECK(right);
  }

  /* Copies, in the four cases of spool_submit_copy's cost. */
  atomic_store(&detached_sum, 0);
  long expected = 0;
  for (long v = 1; v <= NTASKS; v++) {
    struct large_arg large;
    struct small_arg small;
    FILL(large, v);
    FILL(small, v);
    bool with_future = v % 2 == 0;
    spool_future *f = (spool_future *)1;
    rc = v % 4 < 2 ? EXPECT(spool_submit_copy(ex, task_add_large, &large, sizeof large,
                                              with_future ? &f : NULL),
                            SPOOL_OK)
                   : EXPECT(spool_submit_copy(ex, task_add_small, &small, sizeof small,
                                              with_future ? &f : NULL),
                            SPOOL_OK);
    memset(&large, 0, sizeof large); /* the tasks have their own copies */
    memset(&small, 0, sizeof small);
    if (rc == 0) expected += v;
    if (with_future && rc == 0) {
      void *ignored = NULL;
      EXPECT_OUTCOME(spool_future_result(f, SPOOL_FOREVER, &ignored), NULL, 0, 0);
      spool_future_release(f);
    } else if (with_future) {
      CHECK(f == NULL);
    }
  }
  EXPECT(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  CHECK(atomic_load(&detached_sum) == expected);

  /* A group: members submit members; the join waits for all of them. */
  spool_group *g = (spool_group *)1;
  if (EXPECT(spool_group_create(ex, &g), SPOOL_OK) == 0) {
    atomic_store(&detached_sum, 0);
    long members = 0;
    for (int i = 0; i < 4; i++)
      if (EXPECT(spool_group_submit(g, task_member_spawner, (void *)5, NULL), SPOOL_OK) == 0)
        members += 6;
    rc = EXPECT(spool_group_join(g, SPOOL_FOREVER), SPOOL_OK, TASK_NOMEM);
    if (rc == TASK_NOMEM) CHECK(faulting());
    if (rc == 0) CHECK(atomic_load(&detached_sum) == members);
    /* The member's error is kept for spool_join() too: take it there. */
    EXPECT(spool_join(ex, SPOOL_FOREVER), SPOOL_OK, TASK_NOMEM);
    EXPECT(spool_group_cancel(g), SPOOL_OK);
    CHECK(spool_group_cancelled(g));
    spool_future *f = (spool_future *)1;
    EXPECT(spool_group_submit(g, task_square, (void *)2, &f), SPOOL_ECANCELLED);
    CHECK(f == NULL);
    spool_group_destroy(g);
  } else {
    CHECK(g == NULL);
  }

  /* A cooperative wait with a deadline (a timer) inside a task. */
  spool_future *never;
  if (EXPECT(spool_future_create(&never), SPOOL_OK) == 0) {
    spool_future *f;
    if (EXPECT(spool_submit(ex, task_yield_wait_times_out, never, &f), SPOOL_OK) == 0) {
      void *ignored = NULL;
      EXPECT_OUTCOME(spool_future_result(f, SPOOL_FOREVER, &ignored), NULL, 0, 0);
      spool_future_release(f);
    }
    spool_future_cancel(never);
    spool_future_release(never);
  }
}

/* One worker, one fiber: yields beyond the cap wait nested. */
static void phase_fiber_cap(void) {
  spool_executor *ex = make_executor(1, 1, false, NULL);
  if (!ex) return;
  spool_future *f;
  if (EXPECT(spool_submit(ex, task_yield_tree, (void *)4, &f), SPOOL_OK) == 0) {
    void *r = NULL;
    int rc = spool_future_result(f, SPOOL_FOREVER, &r);
    EXPECT_OUTCOME(rc, r, 0, 16);
    spool_future_release(f);
  }
  spool_executor_destroy(ex);
}

static void phase_broken_initializer(void) {
  spool_config c;
  spool_config_init(&c);
  c.workers = 2;
  c.initializer = init_fail_on_worker_1;
  spool_executor *ex = (spool_executor *)1;
  EXPECT(spool_executor_create(&ex, &c), SPOOL_EBROKEN);
  CHECK(ex == NULL);
  c.workers = 1;
  c.max_fibers = 0;
  EXPECT(spool_executor_create(&ex, &c), SPOOL_EINVAL);
}

/* A future that outlives its executor. */
static void phase_destroy_with_futures(void) {
  spool_executor *ex = NULL;
  /* NULL config: the defaults (one worker per hardware thread). */
  int rc = EXPECT(spool_executor_create(&ex, NULL), SPOOL_OK);
  if (rc) return;
  spool_future *f = NULL;
  rc = EXPECT(spool_submit(ex, task_square, (void *)6, &f), SPOOL_OK);
  spool_executor_destroy(ex);
  if (rc == 0) {
    CHECK(spool_future_executor(f) == NULL);
    void *r = NULL;
    CHECK(spool_future_result(f, 0, &r) == 0 && (intptr_t)r == 36);
    spool_future_release(f);
  }
}

int main(void) {
  phase_broken_initializer();
  spool_executor *ex = make_executor(2, 64, true, init_ok);
  if (ex) {
    phase_results(ex);
    phase_detached(ex);
    phase_callbacks_and_created(ex);
    phase_wait_many(ex);
    phase_yield_and_forkjoin(ex);
    phase_exceptions_and_two_executors(ex);
    phase_loops_copies_groups(ex);
    phase_cancel_and_shutdown(ex);
    spool_executor_destroy(ex);
  }
  phase_fiber_cap();
  phase_destroy_with_futures();

  /* The topology is kept loaded for the process's next executor (by
     design, topology.c): not a leak; drop it before counting. */
  topology_cache_release();
  group_registry_release(); /* kept for later groups, by design (group.c) */
  unsigned leaks = fault_report_leaks();
  CHECK(leaks == 0);
  printf("fault-summary: calls=%llu injected=%llu leaks=%u\n", (unsigned long long)fault_calls(),
         (unsigned long long)fault_injected(), leaks);
  unsigned p = atomic_load_explicit(&passed, memory_order_relaxed);
  unsigned f = atomic_load_explicit(&failed, memory_order_relaxed);
  printf("%u passed, %u failed\n", p, f);
  return f ? 1 : 0;
}
