/* Progress at the fiber cap, and outside work reaching a busy worker
 * (issue 9, defects 6 and 7).
 *
 * 1. Nested waits do not livelock. One worker, max_fibers = 1, submitted
 *    from main in this order:
 *      A yields on pA (it parks: the cap is reached), then on pA2;
 *      B yields on pB (nested, on the loop fiber);
 *      C sets pA;
 *      D sets pA2 and pB.
 *    B's nested loop runs C, then resumes A, which waits nested on pA2.
 *    The version this replaces parked each nested waiter as a continuation
 *    ready at once, so A and B resumed each other for ever and D never ran.
 *    Twice: D from the injection queue (main submits it), and D on the
 *    worker's own deque beneath the continuations (C submits D before it
 *    sets pA), which the injection poll of 2. cannot rescue.
 * 2. A worker whose deque never empties still takes outside work: one
 *    worker runs a task that resubmits itself (onto its own deque) until a
 *    flag is set; the flag is set by a task main submits (the injection
 *    queue), and once more by a task that main resumes by completing the
 *    future it yields on (a continuation handed off through the injection
 *    queue, since main is not a worker).
 * 3. spool_sync at the cap: two workers, max_fibers = 1, one task parked on
 *    a created future (the cap is reached); a task forks until the other
 *    worker steals a frame, which holds on until the owner's sync on it has
 *    begun a nested wait (it cannot park). Every sync returns the right
 *    value and no other task was parked.
 * Each phase is bounded by the watchdog and by timed waits, so a livelock
 * fails loudly. SPOOL_STRESS_SCALE repeats phases 1 and 3. */
#include "harness.h"

/* ---- 1. nested waits at the cap ------------------------------------------ */

typedef struct scenario {
  spool_future *pA, *pA2, *pB;
  spool_executor *ex;
  bool d_from_c; /* C submits D (onto the worker's deque) */
  _Atomic int d_ran;
} scenario;

static int task_a(void *arg, void **result) {
  (void)result;
  scenario *s = arg;
  if (spool_future_yield_until_done(s->pA) != SPOOL_OK) return 1;
  if (spool_future_yield_until_done(s->pA2) != SPOOL_OK) return 2;
  return spool_future_done(s->pA) && spool_future_done(s->pA2) ? 0 : 3;
}

static int task_b(void *arg, void **result) {
  (void)result;
  scenario *s = arg;
  if (spool_future_yield_until_done(s->pB) != SPOOL_OK) return 1;
  return spool_future_done(s->pB) ? 0 : 2;
}

static int task_d(void *arg, void **result) {
  (void)result;
  scenario *s = arg;
  atomic_store(&s->d_ran, 1);
  int bad = spool_future_set_result(s->pA2, NULL) != SPOOL_OK;
  bad += spool_future_set_result(s->pB, NULL) != SPOOL_OK;
  return bad;
}

static int task_c(void *arg, void **result) {
  (void)result;
  scenario *s = arg;
  if (s->d_from_c && spool_submit(s->ex, task_d, s, NULL) != SPOOL_OK) return 1;
  return spool_future_set_result(s->pA, NULL) == SPOOL_OK ? 0 : 2;
}

static void nested_waits_progress(bool d_from_c) {
  spool_executor *ex = harness_executor_opt(1, (harness_options){.max_fibers = 1});
  scenario s = {harness_created(), harness_created(), harness_created(), ex, d_from_c, 0};
  spool_future *a = harness_submit(ex, task_a, &s);
  /* A parked before B starts, so that B's wait is the nested one. */
  CHECK(HARNESS_UNTIL(harness_suspends(ex) == 1, 10));
  spool_future *b = harness_submit(ex, task_b, &s);
  spool_future *c = harness_submit(ex, task_c, &s);
  spool_future *d = d_from_c ? NULL : harness_submit(ex, task_d, &s);
  double limit = 10.0 * harness_slowness();
  CHECK_EQ(spool_future_result(a, limit, NULL), SPOOL_OK);
  CHECK_EQ(spool_future_result(b, limit, NULL), SPOOL_OK);
  CHECK_EQ(spool_future_result(c, limit, NULL), SPOOL_OK);
  if (d) CHECK_EQ(spool_future_result(d, limit, NULL), SPOOL_OK);
  CHECK_EQ(spool_join(ex, limit), SPOOL_OK);
  CHECK(atomic_load(&s.d_ran));
  spool_stats st = harness_stats(ex);
  CHECK(st.nested_waits >= 1); /* B's wait (and A's second) were nested */
  CHECK_EQ(st.suspends, st.resumes);
  /* A livelock shows here as millions of suspends; a handful is right. */
  if (!CHECK(st.suspends < 100)) fprintf(stderr, "suspends: %" PRIu64 "\n", st.suspends);
  spool_executor_destroy(ex);
  spool_future_release(a);
  spool_future_release(b);
  spool_future_release(c);
  if (d) spool_future_release(d);
  spool_future_release(s.pA);
  spool_future_release(s.pA2);
  spool_future_release(s.pB);
}

/* ---- 2. outside work reaches a busy worker -------------------------------- */

static spool_executor *busy_ex;
static _Atomic int stop_chain;
static _Atomic uint64_t chain_links;

static int chain_link(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_fetch_add_explicit(&chain_links, 1, memory_order_relaxed);
  if (atomic_load(&stop_chain)) return 0;
  /* Onto this worker's own deque: the deque never empties. */
  return spool_submit(busy_ex, chain_link, NULL, NULL) == SPOOL_OK ? 0 : 1;
}

static int stopper(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_store(&stop_chain, 1);
  return 0;
}

static int stop_after_yield(void *arg, void **result) {
  (void)result;
  if (spool_future_yield_until_done(arg) != SPOOL_OK) return 1;
  atomic_store(&stop_chain, 1);
  return 0;
}

/* Waits until the chain has run `n` more links: the worker is busy. */
static bool chain_running(uint64_t n) {
  uint64_t from = atomic_load(&chain_links);
  return HARNESS_UNTIL(atomic_load(&chain_links) >= from + n, 10);
}

static void outside_work_reaches_busy_worker(void) {
  double limit = 10.0 * harness_slowness();

  harness_phase("a busy worker takes an outside submit");
  busy_ex = harness_executor(1);
  atomic_store(&stop_chain, 0);
  CHECK_EQ(spool_submit(busy_ex, chain_link, NULL, NULL), SPOOL_OK);
  CHECK(chain_running(1000));
  spool_future *s = harness_submit(busy_ex, stopper, NULL);
  CHECK_EQ(spool_future_result(s, limit, NULL), SPOOL_OK);
  CHECK_EQ(spool_join(busy_ex, limit), SPOOL_OK);
  spool_future_release(s);
  spool_executor_destroy(busy_ex);

  harness_phase("a busy worker takes a continuation handed off from outside");
  busy_ex = harness_executor(1);
  atomic_store(&stop_chain, 0);
  spool_future *event = harness_created();
  spool_future *waiter = harness_submit(busy_ex, stop_after_yield, event);
  CHECK(HARNESS_UNTIL(harness_suspends(busy_ex) >= 1, 10));
  CHECK_EQ(spool_submit(busy_ex, chain_link, NULL, NULL), SPOOL_OK);
  CHECK(chain_running(1000));
  CHECK_EQ(spool_future_set_result(event, NULL), SPOOL_OK); /* from main: injected */
  CHECK_EQ(spool_future_result(waiter, limit, NULL), SPOOL_OK);
  CHECK_EQ(spool_join(busy_ex, limit), SPOOL_OK);
  spool_future_release(waiter);
  spool_future_release(event);
  spool_executor_destroy(busy_ex);
}

/* ---- 3. spool_sync at the cap --------------------------------------------- */

typedef struct steal_probe {
  spool_executor *ex;
  int owner;
  uint64_t nested_before;
  _Atomic int stolen_index; /* -1 until a thief runs a frame */
  _Atomic bool timed_out;
} steal_probe;

static steal_probe probe;
static spool_future *never; /* a created future nobody completes */

/* A frame: on a thief, it holds on until the owner's sync waits nested. */
static int maybe_stolen(void *arg, void **result) {
  intptr_t i = (intptr_t)arg;
  *result = HARNESS_PTR(i * 10);
  if (spool_current_worker() == probe.owner) return 0;
  int expected = -1;
  atomic_compare_exchange_strong(&probe.stolen_index, &expected, (int)i);
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (harness_stats(probe.ex).nested_waits == probe.nested_before) {
    if (harness_now() > deadline) {
      atomic_store(&probe.timed_out, true);
      break;
    }
    harness_relax();
  }
  return 0;
}

#define MAX_FORKS 4096

static int owner_task(void *arg, void **result) {
  (void)arg;
  static spool_task ts[MAX_FORKS];
  probe.owner = spool_current_worker();
  /* Fork until a thief has taken a frame; a short blocking wait now and
     then publishes the frames and wakes the idle worker (as in
     tests/forkjoin/slow_path.c). */
  int n = 0;
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (n < MAX_FORKS && atomic_load(&probe.stolen_index) < 0 && harness_now() < deadline) {
    spool_fork(&ts[n], maybe_stolen, HARNESS_PTR(n));
    n++;
    for (int spin = 0; spin < 200 && atomic_load(&probe.stolen_index) < 0; spin++)
      harness_relax();
    if (n % 64 == 0 && atomic_load(&probe.stolen_index) < 0)
      spool_future_result(never, 0.001, NULL); /* times out */
  }
  int bad = 0;
  for (int i = n - 1; i >= 0; i--) {
    void *v = NULL;
    bad |= spool_sync(&ts[i], &v); /* the stolen one waits nested */
    if ((intptr_t)v != (intptr_t)i * 10) bad |= 64;
  }
  *result = HARNESS_PTR(n);
  return bad | (atomic_load(&probe.stolen_index) < 0 ? 128 : 0);
}

static void sync_at_cap(void) {
  spool_executor *ex = harness_executor_opt(2, (harness_options){.max_fibers = 1});
  never = harness_created();
  spool_future *event = harness_created();
  scenario hold = {.pB = event};
  spool_future *holder = harness_submit(ex, task_b, &hold);
  /* The one fiber is taken: a sync on a stolen frame cannot park. */
  CHECK(HARNESS_UNTIL(harness_suspends(ex) == 1, 10));
  for (int rep = 0; rep < 5; rep++) {
    memset(&probe, 0, sizeof probe);
    probe.ex = ex;
    atomic_store(&probe.stolen_index, -1);
    spool_stats s0 = harness_stats(ex);
    probe.nested_before = s0.nested_waits;
    spool_future *f = harness_submit(ex, owner_task, NULL);
    CHECK(harness_result(f, 30.0 * harness_slowness()) > 0);
    spool_future_release(f);
    CHECK(!atomic_load(&probe.timed_out));
    CHECK(atomic_load(&probe.stolen_index) >= 0);
    spool_stats s1 = harness_stats(ex);
    CHECK(s1.forks_stolen > s0.forks_stolen);
    CHECK(s1.nested_waits > s0.nested_waits);
    /* Nothing else parked: the holder is the only suspended task. */
    CHECK_EQ(s1.suspends - s1.resumes, 1);
  }
  CHECK_EQ(spool_future_set_result(event, NULL), SPOOL_OK);
  CHECK_EQ(harness_result(holder, 10.0 * harness_slowness()), 0);
  CHECK_EQ(spool_join(ex, 10.0 * harness_slowness()), SPOOL_OK);
  spool_executor_destroy(ex);
  spool_future_release(holder);
  spool_future_release(event);
  spool_future_release(never);
}

int main(void) {
  for (unsigned r = 0; r < harness_scale(); r++) {
    harness_phase("max_fibers = 1: nested waiters, D from the injection queue");
    nested_waits_progress(false);
    harness_phase("max_fibers = 1: nested waiters, D on the worker's deque");
    nested_waits_progress(true);
  }
  outside_work_reaches_busy_worker();
  for (unsigned r = 0; r < harness_scale(); r++) {
    harness_phase("max_fibers = 1: spool_sync on stolen frames waits nested");
    sync_at_cap();
  }
  harness_watchdog_off();
  return harness_report();
}
