/* Regression (issue 9, defect 1's rule, in spool_group_cancel): called from
 * a task, spool_group_cancel() drains the queues itself, and cancelling a
 * member runs its done callbacks, user code that may move the task to
 * another worker. The drain went on with the worker it had read before, so
 * a detached member it dropped afterwards was counted finished (an
 * owner-only counter of spool_join) and its item recycled (an owner-only
 * free list) on a worker whose own thread was running something else.
 * Debug builds now check that a worker's finished count is written by that
 * worker's thread (runtime/join.c), which makes the stale worker an abort.
 *
 * Three workers. Each round, task T (on worker A):
 *  - gives workers B and C a blocker each; C's, once T has parked,
 *    completes the event T waits for, so T resumes on C;
 *  - submits two members of group g: a future F with a done callback, and
 *    a detached task D after it (A's deque, nobody else free to take them);
 *  - cancels g. The drain takes F first (the top of A's deque) and cancels
 *    it; F's callback gives A a blocker, then yields until the event is
 *    done: T parks, A's thread runs its blocker (the bottom of its deque,
 *    not D), C completes the event and resumes T. The drain then takes D,
 *    on C's thread, and drops it.
 * Checks: the member functions never ran, F is cancelled, every round's
 * callback came back on C, the group and spool_join() finish, and a debug
 * build does not abort. */
#include "harness.h"

enum { ROUNDS = 10 };

typedef struct round_state {
  spool_executor *ex;
  spool_group *g;
  spool_future *event;
  int a;                 /* T's worker */
  atomic_int held;       /* blockers of B and C running */
  atomic_bool a_held;    /* A runs its blocker: T has parked */
  atomic_bool release;   /* the blockers of A and B may return */
  atomic_int member_ran; /* must stay 0 */
  atomic_int moved;      /* the callback resumed on another worker */
  atomic_int cb_error;
} round_state;

static int member(void *arg, void **result) {
  round_state *r = arg;
  atomic_fetch_add(&r->member_ran, 1);
  *result = NULL;
  return 0;
}

static int hold(void *arg, void **result) {
  round_state *r = arg;
  *result = NULL;
  return HARNESS_UNTIL(atomic_load(&r->release), 30) ? 0 : 1;
}

/* A's blocker: A's thread runs it only once T is off that thread. */
static int hold_a(void *arg, void **result) {
  round_state *r = arg;
  atomic_store(&r->a_held, true);
  return hold(arg, result);
}

static int hold_b(void *arg, void **result) {
  round_state *r = arg;
  atomic_fetch_add(&r->held, 1);
  return hold(arg, result);
}

/* C's blocker: completes the event once T has parked on it (a flag set
   before the park would race with it: T could find the event done). */
static int hold_c(void *arg, void **result) {
  round_state *r = arg;
  *result = NULL;
  atomic_fetch_add(&r->held, 1);
  if (!HARNESS_UNTIL(atomic_load(&r->a_held), 30)) return 1;
  return spool_future_set_result(r->event, NULL) == SPOOL_OK ? 0 : 2;
}

static void migrating_callback(spool_future *f, void *user) {
  round_state *r = user;
  if (!spool_future_cancelled(f)) atomic_fetch_add(&r->cb_error, 1);
  /* A's blocker goes below D in A's deque: A's thread takes it, not D. */
  if (spool_submit(r->ex, hold_a, r, NULL) != SPOOL_OK) atomic_fetch_add(&r->cb_error, 1);
  if (spool_future_yield_until_done(r->event) != SPOOL_OK) atomic_fetch_add(&r->cb_error, 1);
  if (spool_current_worker() != r->a) atomic_fetch_add(&r->moved, 1);
}

static int task_t(void *arg, void **result) {
  round_state *r = arg;
  *result = NULL;
  r->a = spool_current_worker();
  if (spool_submit(r->ex, hold_b, r, NULL) != SPOOL_OK ||
      spool_submit(r->ex, hold_c, r, NULL) != SPOOL_OK)
    return 1;
  /* Both taken by the idle workers, so A's deque is empty again. */
  if (!HARNESS_UNTIL(atomic_load(&r->held) == 2, 30)) return 2;
  spool_future *f = NULL;
  if (spool_group_submit(r->g, member, r, &f) != SPOOL_OK) return 3;
  if (spool_future_add_done_callback(f, migrating_callback, r) != SPOOL_OK) return 4;
  if (spool_group_submit(r->g, member, r, NULL) != SPOOL_OK) return 5;
  int rc = spool_group_cancel(r->g);
  atomic_store(&r->release, true);
  bool cancelled = spool_future_cancelled(f);
  spool_future_release(f);
  return rc != SPOOL_OK ? 6 : !cancelled ? 7 : 0;
}

int main(void) {
  harness_phase("a cancelled member's callback moves the task that cancels its group");
  spool_executor *ex = harness_executor(3);
  int moved = 0;
  for (int i = 0; i < ROUNDS; i++) {
    static round_state r;
    memset(&r, 0, sizeof r);
    r.ex = ex;
    CHECK_EQ(spool_group_create(ex, &r.g), SPOOL_OK);
    r.event = harness_created();
    spool_future *t = harness_submit(ex, task_t, &r);
    CHECK_EQ(spool_future_result(t, 60.0 * harness_slowness(), NULL), SPOOL_OK);
    CHECK_EQ(spool_group_join(r.g, 60.0 * harness_slowness()), SPOOL_OK);
    CHECK_EQ(spool_join(ex, 60.0 * harness_slowness()), SPOOL_OK);
    CHECK_EQ(atomic_load(&r.member_ran), 0);
    CHECK_EQ(atomic_load(&r.cb_error), 0);
    moved += atomic_load(&r.moved);
    spool_group_destroy(r.g);
    spool_future_release(r.event);
    spool_future_release(t);
  }
  /* A and B were held: only C could resume T. */
  CHECK_EQ(moved, ROUNDS);
  spool_executor_destroy(ex);
  harness_watchdog_off();
  return harness_report();
}
