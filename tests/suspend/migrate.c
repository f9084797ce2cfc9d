/* A task that resumes on a different worker than it suspended on reads the
 * new worker: spool_current_worker(), spool_current_executor() and the
 * thread (pthread_self() through an opaque pointer) after the resume are
 * those of the worker it now runs on, not values cached from before.
 *
 * Built at -O2 with GCC and with Clang (meson forces optimization=2 for this
 * program in every build): both keep thread-local addresses in registers
 * across calls (DESIGN.md "Migration across threads").
 *
 * The migration is forced, on two workers:
 *   1. The test submits T and P; each spins until both have started, so
 *      they run on different workers, X (T) and Y (P).
 *   2. T records X, its executor and thread, submits a blocker B onto X's
 *      deque, and yields on a created future F.
 *   3. X, freed, pops B (Y is busy in P, so it cannot steal B); B spins
 *      until T has resumed, so X cannot take T's continuation.
 *   4. P waits until B runs, then completes F on Y: the continuation goes
 *      onto Y's deque (continuations go to the completing worker), and Y,
 *      when P returns, pops it: T resumes on Y.
 * Variant: T waits with a blocking spool_future_result() on a subtask that
 * it claims inline and that yields on F: the blocking call migrates too. */
#include "harness.h"

typedef struct round_state {
  spool_executor *ex;
  spool_future *event;
  bool via_result; /* T waits through spool_future_result on a subtask */
  _Atomic int started;
  _Atomic int blocker_worker; /* -1 until B runs */
  _Atomic bool t_resumed;
  _Atomic bool timed_out;
  /* Written by T before the yield, checked by main afterwards. */
  int x;
  int y; /* written by P */
  pthread_t y_thread;
  /* Written by T after the resume. */
  int after_worker;
  spool_executor *after_ex;
  pthread_t after_thread, before_thread;
  int after_worker_again; /* a second read, after more calls */
} round_state;

static bool spin_until(_Atomic bool *flag, round_state *r) {
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (!atomic_load(flag)) {
    if (harness_now() > deadline) {
      atomic_store(&r->timed_out, true);
      return false;
    }
    harness_relax();
  }
  return true;
}

static void rendezvous(round_state *r) {
  atomic_fetch_add(&r->started, 1);
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (atomic_load(&r->started) < 2) {
    if (harness_now() > deadline) {
      atomic_store(&r->timed_out, true);
      return;
    }
    harness_relax();
  }
}

static int blocker(void *arg, void **result) {
  (void)result;
  round_state *r = arg;
  atomic_store(&r->blocker_worker, spool_current_worker());
  spin_until(&r->t_resumed, r);
  return 0;
}

static int yield_on_event(void *arg, void **result) {
  round_state *r = arg;
  int rc = spool_future_yield_until_done(r->event);
  *result = HARNESS_PTR(spool_current_worker());
  return rc;
}

static int task_t(void *arg, void **result) {
  (void)result;
  round_state *r = arg;
  rendezvous(r);
  r->x = spool_current_worker();
  r->before_thread = harness_pthread_self();
  spool_executor *before_ex = spool_current_executor();
  spool_future *b = NULL;
  if (spool_submit(r->ex, blocker, r, &b) != SPOOL_OK) return 1;
  int rc;
  if (r->via_result) {
    spool_future *sub = NULL;
    if (spool_submit(r->ex, yield_on_event, r, &sub) != SPOOL_OK) return 1;
    void *w = NULL;
    rc = spool_future_result(sub, SPOOL_FOREVER, &w); /* claims sub inline */
    spool_future_release(sub);
    /* the subtask resumed on the worker we are on now */
    if (rc == SPOOL_OK && (intptr_t)w != spool_current_worker()) rc = 7;
  } else {
    rc = spool_future_yield_until_done(r->event);
  }
  /* Fresh reads after the switch point. */
  r->after_worker = spool_current_worker();
  r->after_ex = spool_current_executor();
  r->after_thread = harness_pthread_self();
  if (before_ex != r->ex) rc = 8;
  /* More calls, then read again: the value must stay the new worker's. */
  spool_future_release(b); /* B is still running; only our reference goes */
  r->after_worker_again = spool_current_worker();
  atomic_store(&r->t_resumed, true);
  return rc;
}

static int task_p(void *arg, void **result) {
  (void)result;
  round_state *r = arg;
  rendezvous(r);
  r->y = spool_current_worker();
  r->y_thread = harness_pthread_self();
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (atomic_load(&r->blocker_worker) < 0) {
    if (harness_now() > deadline) {
      atomic_store(&r->timed_out, true);
      break;
    }
    harness_relax();
  }
  /* T is parked (B runs on its worker): complete F here, on Y. */
  return spool_future_set_result(r->event, HARNESS_PTR(1)) == SPOOL_OK ? 0 : 1;
}

static void one_round(spool_executor *ex, bool via_result) {
  static round_state r;
  memset(&r, 0, sizeof r);
  r.ex = ex;
  r.event = harness_created();
  r.via_result = via_result;
  atomic_store(&r.blocker_worker, -1);
  uint64_t resumes0 = harness_stats(ex).resumes;
  spool_future *t = harness_submit(ex, task_t, &r);
  spool_future *p = harness_submit(ex, task_p, &r);
  CHECK_EQ(harness_result(p, SPOOL_FOREVER), 0);
  CHECK_EQ(harness_result(t, SPOOL_FOREVER), 0);
  CHECK_EQ(spool_join(ex, 20.0 * harness_slowness()), SPOOL_OK);
  CHECK(!atomic_load(&r.timed_out));
  /* The set-up: T on X, P on Y, B on X. */
  CHECK(r.x >= 0 && r.y >= 0 && r.x != r.y);
  CHECK_EQ(atomic_load(&r.blocker_worker), r.x);
  CHECK(pthread_equal(r.before_thread, harness_worker_thread[r.x]));
  CHECK(pthread_equal(r.y_thread, harness_worker_thread[r.y]));
  /* The migration, and what T read after it. */
  CHECK_EQ(r.after_worker, r.y);
  CHECK_EQ(r.after_worker_again, r.y);
  CHECK(r.after_ex == ex);
  CHECK(pthread_equal(r.after_thread, harness_worker_thread[r.y]));
  CHECK(!pthread_equal(r.after_thread, r.before_thread));
  CHECK(harness_stats(ex).resumes - resumes0 >= 1);
  spool_future_release(t);
  spool_future_release(p);
  spool_future_release(r.event);
}

int main(void) {
  spool_executor *ex = harness_executor(2);
  harness_phase("migration after spool_yield_until_done");
  for (int i = 0; i < 20; i++)
    one_round(ex, false);
  harness_phase("migration through a blocking result() that ran a yielding task inline");
  for (int i = 0; i < 20; i++)
    one_round(ex, true);
  CHECK(spool_current_worker() == -1 && spool_current_executor() == NULL);
  spool_executor_destroy(ex);
  harness_watchdog_off();
  return harness_report();
}
