/* spool_join: fire-and-forget work and everything it spawns, errors of
 * detached tasks, timeouts, and where join may be called. Includes
 * betterconcurrent's countdown and tree-search cases. */
#include <pthread.h>

#include "suite.h"
#include "threads.h"

SPOOL_SUITE(join);

static spool_executor *g_ex;

/* ---- Countdown: one worker, each task submits the next ------------------- */

static atomic_long countdown_seen;

static int countdown(void *arg, void **result) {
  (void)result;
  intptr_t n = (intptr_t)arg;
  atomic_fetch_add(&countdown_seen, 1);
  if (n > 1) return spool_submit(g_ex, countdown, (void *)(n - 1), NULL);
  return 0;
}

Test(join, countdown_on_one_worker) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  for (int round = 1; round <= 5; round++) {
    const long n = 2000;
    cr_assert_eq(spool_submit(g_ex, countdown, (void *)(intptr_t)n, NULL), SPOOL_OK);
    cr_assert_eq(spool_join(g_ex, SPOOL_FOREVER), SPOOL_OK);
    cr_assert_eq(atomic_load(&countdown_seen), n * round, "join returned with %ld of %ld",
                 atomic_load(&countdown_seen) - n * (round - 1), n);
  }
  spool_executor_destroy(g_ex);
}

/* ---- Tree search: a task per child, five workers ------------------------- */

#define TREE_DEPTH 11

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

/* Node ids are packed with their depth into the task argument. */
static unsigned tree_children(uint64_t id, unsigned depth) {
  return depth >= TREE_DEPTH ? 0 : (unsigned)(mix(id) % 4); /* 0..3, mean 1.5 */
}

static long tree_size(uint64_t id, unsigned depth) {
  long n = 1;
  for (unsigned k = 0; k < tree_children(id, depth); k++)
    n += tree_size(id * 4 + k + 1, depth + 1);
  return n;
}

static atomic_long tree_visited;
static atomic_long tree_submit_errors;

static int tree_visit(void *arg, void **result) {
  (void)result;
  uintptr_t packed = (uintptr_t)arg;
  uint64_t id = packed >> 5;
  unsigned depth = (unsigned)(packed & 31);
  atomic_fetch_add(&tree_visited, 1);
  for (unsigned k = 0; k < tree_children(id, depth); k++) {
    uintptr_t child = (uintptr_t)((id * 4 + k + 1) << 5) | (depth + 1);
    if (spool_submit(g_ex, tree_visit, (void *)child, NULL) != SPOOL_OK)
      atomic_fetch_add(&tree_submit_errors, 1);
  }
  return 0;
}

Test(join, tree_search_on_five_workers) {
  g_ex = executor_with(5);
  cr_assert_not_null(g_ex);
  long expected = 0;
  for (uint64_t root = 1; root <= 8; root++) {
    long n = tree_size(root << 20, 0);
    if (n < 50) continue; /* want trees with some depth */
    expected += n;
    cr_assert_eq(spool_submit(g_ex, tree_visit, (void *)(uintptr_t)((root << 20) << 5), NULL),
                 SPOOL_OK);
    cr_assert_eq(spool_join(g_ex, SPOOL_FOREVER), SPOOL_OK);
    cr_assert_eq(atomic_load(&tree_visited), expected, "join saw %ld of %ld nodes",
                 atomic_load(&tree_visited), expected);
  }
  cr_assert_gt(expected, 200, "the trees are too small to test anything");
  cr_assert_eq(atomic_load(&tree_submit_errors), 0);
  spool_executor_destroy(g_ex);
}

/* ---- Errors of fire-and-forget tasks ------------------------------------- */

Test(join, returns_the_first_detached_error_once) {
  spool_executor *ex = executor_with(1); /* runs the injection queue in order */
  cr_assert_not_null(ex);
  blocker b;
  blocker_init(&b, NULL);
  cr_assert_eq(spool_submit(ex, task_block, &b, NULL), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S));
  const int codes[] = {0, 7, 0, 9, -1};
  for (int i = 0; i < 5; i++)
    cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)codes[i], NULL), SPOOL_OK);
  blocker_release(&b);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), 7);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK, "the error was reported twice");
  cr_assert_eq(spool_join(ex, 0), SPOOL_OK);
  cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)-11, NULL), SPOOL_OK);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), -11);
  /* a runtime code from a task passes through unchanged */
  cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)SPOOL_ETIMEDOUT, NULL),
               SPOOL_OK);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_ETIMEDOUT);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  blocker_destroy(&b);
  spool_executor_destroy(ex);
}

Test(join, errors_of_tasks_with_futures_are_not_reported) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)-1, &f), SPOOL_OK);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert(spool_future_done(f), "join returned before a task with a future finished");
  cr_assert_eq(spool_future_exception(f, 0), -1);
  spool_future_release(f);
  spool_executor_destroy(ex);
}

/* ---- Timeouts ------------------------------------------------------------ */

Test(join, times_out_and_leaves_the_error) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  blocker b;
  blocker_init(&b, NULL);
  cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)5, NULL), SPOOL_OK);
  spool_future *bf = NULL;
  cr_assert_eq(spool_submit(ex, task_block, &b, &bf), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S)); /* so the failing one has run */
  double t0 = now_s();
  cr_assert_eq(spool_join(ex, 0.1), SPOOL_ETIMEDOUT);
  cr_assert_geq(now_s() - t0, 0.09);
  cr_assert_eq(spool_join(ex, 0), SPOOL_ETIMEDOUT);
  blocker_release(&b);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), 5, "a timed-out join consumed the error");
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert(spool_future_done(bf));
  spool_future_release(bf);
  blocker_destroy(&b);
  spool_executor_destroy(ex);
}

Test(join, with_nothing_submitted) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(spool_join(ex, 0), SPOOL_OK);
  cr_assert_eq(spool_shutdown(ex, true, false), SPOOL_OK);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  spool_executor_destroy(ex);
}

/* ---- Where join may be called -------------------------------------------- */

typedef struct inner_join {
  spool_executor *ex;
  int rc_forever, rc_poll;
} inner_join;

static int join_from_task(void *arg, void **result) {
  (void)result;
  inner_join *j = arg;
  j->rc_forever = spool_join(j->ex, SPOOL_FOREVER); /* would deadlock if it waited */
  j->rc_poll = spool_join(j->ex, 0);
  return 0;
}

Test(join, from_inside_a_task_is_estate) {
  inner_join j = {executor_with(2), 1, 1};
  cr_assert_not_null(j.ex);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(j.ex, join_from_task, &j, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(j.rc_forever, SPOOL_ESTATE);
  cr_assert_eq(j.rc_poll, SPOOL_ESTATE);
  spool_future_release(f);
  spool_executor_destroy(j.ex);
}

static int join_other(void *arg, void **result) {
  (void)result;
  return spool_join(arg, SPOOL_FOREVER);
}

Test(join, from_another_executors_task_waits) {
  spool_executor *a = executor_with(1), *b = executor_with(2);
  cr_assert(a && b);
  g_ex = b;
  atomic_store(&countdown_seen, 0);
  cr_assert_eq(spool_submit(b, countdown, (void *)(intptr_t)500, NULL), SPOOL_OK);
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(a, join_other, b, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(atomic_load(&countdown_seen), 500);
  spool_future_release(f);
  spool_executor_destroy(a);
  spool_executor_destroy(b);
}

/* ---- Several joiners ------------------------------------------------------ */

typedef struct joiner {
  spool_executor *ex;
  atomic_long *entered;
  atomic_int rc; /* 1 until join returns */
} joiner;

static void *join_thread(void *arg) {
  joiner *j = arg;
  atomic_fetch_add(j->entered, 1);
  atomic_store(&j->rc, spool_join(j->ex, 20.0));
  return NULL;
}

Test(join, concurrent_joiners_see_the_error_exactly_once) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  for (int round = 0; round < 10; round++) {
    blocker b;
    blocker_init(&b, NULL);
    cr_assert_eq(spool_submit(ex, task_block, &b, NULL), SPOOL_OK);
    cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)-33, NULL), SPOOL_OK);
    atomic_long entered = 0;
    joiner js[4];
    pthread_t ts[4];
    for (int i = 0; i < 4; i++) {
      js[i] = (joiner){ex, &entered, 1};
      cr_assert_eq(pthread_create(&ts[i], NULL, join_thread, &js[i]), 0);
    }
    cr_assert(await_at_least(&entered, 4, TEST_SETTLE_S));
    blocker_release(&b);
    int saw_error = 0;
    for (int i = 0; i < 4; i++) {
      pthread_join(ts[i], NULL);
      int rc = atomic_load(&js[i].rc);
      cr_assert(rc == SPOOL_OK || rc == -33, "joiner %d got %d", i, rc);
      saw_error += rc == -33;
    }
    cr_assert_eq(saw_error, 1, "round %d: %d joiners saw the error", round, saw_error);
    cr_assert_eq(atomic_load(&b.finished), 1);
    blocker_destroy(&b);
  }
  spool_executor_destroy(ex);
}

/* ---- Wake-ups -------------------------------------------------------------- */

/* A joiner waiting with SPOOL_FOREVER returns when the last outstanding
   task is cancelled from outside. The worker is held by a blocker, a second
   task is queued behind it, the joiner sleeps; the queued task is cancelled
   (counting it finished on the outside slot), then the blocker finishes.
   join must return, the cancelled task must never run. The race where the
   cancel is the very last event (so only the canceller can wake the
   joiner) is exercised many times by tests/stress/join_stress.c. */
Test(join, returns_after_the_last_task_is_cancelled_from_outside) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  blocker b;
  blocker_init(&b, NULL);
  cr_assert_eq(spool_submit(ex, task_block, &b, NULL), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S));
  atomic_long ran = 0;
  spool_future *q = NULL;
  cr_assert_eq(spool_submit(ex, task_count, &ran, &q), SPOOL_OK);
  atomic_long entered = 0;
  joiner j = {ex, &entered, 1};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, join_thread, &j), 0);
  cr_assert(await_at_least(&entered, 1, TEST_SETTLE_S));
  sleep_s(0.05);
  cr_assert_eq(atomic_load(&j.rc), 1, "join returned while a task was still blocked");
  cr_assert(spool_future_cancel(q));
  blocker_release(&b);
  pthread_join(t, NULL);
  cr_assert_eq(atomic_load(&j.rc), SPOOL_OK);
  cr_assert_eq(atomic_load(&ran), 0);
  spool_future_release(q);
  blocker_destroy(&b);
  spool_executor_destroy(ex);
}

/* The case where the cancel is the last event: the worker is idle, a task
   is queued from outside, the joiner falls asleep (checked in /proc), and
   the task is cancelled before the worker takes it. The worker finished
   nothing since it last went idle, so it signals nobody: only the
   canceller can wake the joiner. The worker runs under SCHED_IDLE next to
   a busy thread, so it is slow to take the task; each round checks by
   state whether the case arose (joiner asleep, cancel won), and a joiner
   left asleep returns only when its own timeout fires, which fails. */
typedef struct race_joiner {
  spool_executor *ex;
  atomic_int go, done;
  atomic_long tid;
  atomic_int rc;
  double elapsed;
} race_joiner;

static void *race_join_thread(void *arg) {
  race_joiner *r = arg;
  atomic_store(&r->tid, thread_self_tid());
  while (!atomic_load(&r->go))
    ; /* spin: state R, so that S means asleep in spool_join */
  double t0 = now_s();
  atomic_store(&r->rc, spool_join(r->ex, 5.0));
  r->elapsed = now_s() - t0;
  atomic_store(&r->done, 1);
  return NULL;
}

Test(join, woken_when_the_last_task_is_cancelled_from_outside) {
  spool_config c;
  spool_config_init(&c);
  c.workers = 1;
  c.thread_name_prefix = "sjw";
  spool_executor *ex = NULL;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  thread_slowdown slow;
  cr_assert(thread_slowdown_start(&slow, thread_named("sjw-0")),
            "cannot slow the worker down (SCHED_IDLE, affinity): the case cannot be set up");
  int decisive = 0, round = 0;
  for (; round < 200 && decisive < 5; round++) {
    atomic_long ran = 0;
    spool_future *q = NULL;
    race_joiner r = {.ex = ex, .rc = 1};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, race_join_thread, &r), 0);
    while (!atomic_load(&r.tid))
      sched_yield();
    cr_assert_eq(spool_submit(ex, task_count, &ran, &q), SPOOL_OK);
    atomic_store(&r.go, 1);
    double give_up = now_s() + 2.0;
    char st;
    while ((st = thread_state(atomic_load(&r.tid))) != 'S' && !atomic_load(&r.done) &&
           now_s() < give_up)
      ;
    bool won = spool_future_cancel(q);
    if (won && st == 'S') decisive++;
    pthread_join(t, NULL);
    cr_assert_eq(atomic_load(&r.rc), SPOOL_OK, "round %d: join returned %d", round,
                 atomic_load(&r.rc));
    cr_assert_lt(r.elapsed, 4.0,
                 "round %d: join returned only when its timeout fired (%.1f s): the cancel of "
                 "the last task did not wake it",
                 round, r.elapsed);
    cr_assert_eq(spool_join(ex, 5.0), SPOOL_OK);
    cr_assert_eq(atomic_load(&ran), won ? 0 : 1);
    spool_future_release(q);
  }
  thread_slowdown_stop(&slow);
  cr_assert_geq(decisive, 1, "in %d rounds the joiner was never asleep when the cancel won", round);
  cr_log_info("%d decisive rounds in %d", decisive, round);
  spool_executor_destroy(ex);
}
