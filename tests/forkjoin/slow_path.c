/* The slow paths of spool_sync (DESIGN.md "Fork-join fast path": every case
 * but "the frame is the bottom item of the current worker's private
 * region"), through the public API only, so that these keep passing when
 * the fast path changes.
 *
 * 1. A submit between fork and sync (the task's item lies above the frame).
 * 2. A yield between fork and sync: on one worker, the frame is run while
 *    the task is parked; on two, the task is made to resume on the other
 *    worker (a blocker holds the first one, the future is completed by a
 *    task on the second: continuations go to the completing worker), forks
 *    and syncs 64 frames there (counted on the new worker, none on the
 *    old: the fork reads the current thread's deque after a migration),
 *    and then syncs a frame that lies in the first worker's deque.
 * 3. A completion that pushes a continuation above the frame: on one
 *    worker, task S is parked on a created future; task T forks a frame,
 *    then completes S's future, which puts S's continuation on T's worker's
 *    deque above the frame, then syncs.
 * 4. Frames in an array, synced in reverse order; nested arrays.
 * 5. A fork after shutdown inside a running task: fork and sync still work
 *    (and thieves still take frames), a submit is refused.
 * 6. A frame stolen by a thief that is still running it when the owner
 *    syncs: the owner suspends (suspends and forks_stolen grow) and resumes
 *    when the thief finishes. */
#include "harness.h"

static int value_plus_one(void *arg, void **result) {
  *result = HARNESS_PTR((intptr_t)arg + 1);
  return 0;
}

static bool spin_until(_Atomic bool *flag) {
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (!atomic_load(flag))
    if (harness_now() > deadline)
      return false;
    else
      harness_relax();
  return true;
}

/* ---- 1. submit between fork and sync -------------------------------------- */

static _Atomic int detached_runs;

static int detached(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_fetch_add(&detached_runs, 1);
  return 0;
}

static int fork_submit_sync(void *arg, void **result) {
  (void)arg;
  spool_executor *ex = spool_current_executor();
  spool_task t;
  spool_fork(&t, harness_fib, HARNESS_PTR(15));
  spool_future *f = NULL;
  if (spool_submit(ex, harness_fib, HARNESS_PTR(12), &f) != SPOOL_OK) return 1;
  if (spool_submit(ex, detached, NULL, NULL) != SPOOL_OK) return 2;
  void *a = NULL, *b = NULL;
  int rc = spool_sync(&t, &a);
  if (rc == SPOOL_OK) rc = spool_future_result(f, SPOOL_FOREVER, &b);
  spool_future_release(f);
  *result = HARNESS_PTR((intptr_t)a * 1000 + (intptr_t)b);
  return rc;
}

static void test_submit_between(void) {
  harness_phase("submit between fork and sync");
  for (unsigned workers = 1; workers <= 2; workers++) {
    spool_executor *ex = harness_executor(workers);
    atomic_store(&detached_runs, 0);
    for (int rep = 0; rep < 20; rep++) {
      void *r = NULL;
      CHECK_EQ(spool_run(ex, fork_submit_sync, NULL, &r), SPOOL_OK);
      CHECK_EQ((intptr_t)r, 610 * 1000 + 144);
    }
    CHECK_EQ(spool_join(ex, 10.0 * harness_slowness()), SPOOL_OK);
    CHECK_EQ(atomic_load(&detached_runs), 20);
    spool_executor_destroy(ex);
  }
}

/* ---- 2. yield between fork and sync ----------------------------------------- */

static spool_future *event;

static int completer(void *arg, void **result) {
  (void)result;
  return spool_future_set_result(event, arg) == SPOOL_OK ? 0 : 1;
}

static _Atomic bool frame_ran;

static int note_frame(void *arg, void **result) {
  atomic_store(&frame_ran, true);
  *result = HARNESS_PTR((intptr_t)arg * 3);
  return 0;
}

static int fork_yield_sync(void *arg, void **result) {
  (void)arg;
  spool_task t;
  spool_fork(&t, note_frame, HARNESS_PTR(14));
  if (spool_future_yield_until_done(event) != SPOOL_OK) return 1;
  void *v = NULL, *e = NULL;
  int rc = spool_sync(&t, &v);
  if (spool_future_result(event, 0, &e) != SPOOL_OK) return 2;
  *result = HARNESS_PTR((intptr_t)v + (intptr_t)e);
  return rc;
}

typedef struct migration {
  spool_executor *ex;
  _Atomic int started;
  _Atomic int blocker_worker;
  _Atomic bool resumed, timed_out;
  int x, y, after_yield, after_sync;
  uint64_t forks_here, forks_there; /* forks counted after the move */
  pthread_t after_yield_thread, after_sync_thread;
  int rc_sync;
  intptr_t synced;
} migration;

static void rendezvous(migration *m) {
  atomic_fetch_add(&m->started, 1);
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (atomic_load(&m->started) < 2)
    if (harness_now() > deadline) {
      atomic_store(&m->timed_out, true);
      return;
    } else
      harness_relax();
}

static int blocker(void *arg, void **result) {
  (void)result;
  migration *m = arg;
  atomic_store(&m->blocker_worker, spool_current_worker());
  if (!spin_until(&m->resumed)) atomic_store(&m->timed_out, true);
  return 0;
}

static int migrating_task(void *arg, void **result) {
  (void)result;
  migration *m = arg;
  rendezvous(m);
  m->x = spool_current_worker();
  spool_task t;
  spool_fork(&t, value_plus_one, HARNESS_PTR(40));
  /* The blocker goes above the frame; X runs it once this task parks. */
  if (spool_submit(m->ex, blocker, m, NULL) != SPOOL_OK) return 1;
  if (spool_future_yield_until_done(event) != SPOOL_OK) return 2;
  m->after_yield = spool_current_worker();
  m->after_yield_thread = harness_pthread_self();
  /* Forks after the move go to the new worker's deque: the inline fast
     path reads the thread's lane afresh (X spins in the blocker meanwhile,
     forking nothing). */
  spool_stats here0, there0, here1, there1;
  spool_stats_read(m->ex, m->after_yield, &here0);
  spool_stats_read(m->ex, m->x, &there0);
  for (int i = 0; i < 64; i++) {
    spool_task u;
    spool_fork(&u, value_plus_one, HARNESS_PTR(i));
    void *w = NULL;
    if (spool_sync(&u, &w) != SPOOL_OK || w != HARNESS_PTR(i + 1)) return 3;
  }
  spool_stats_read(m->ex, m->after_yield, &here1);
  spool_stats_read(m->ex, m->x, &there1);
  m->forks_here = here1.forks - here0.forks;
  m->forks_there = there1.forks - there0.forks;
  atomic_store(&m->resumed, true);
  void *v = NULL;
  m->rc_sync = spool_sync(&t, &v);
  m->synced = (intptr_t)v;
  m->after_sync = spool_current_worker();
  m->after_sync_thread = harness_pthread_self();
  return 0;
}

static int completing_task(void *arg, void **result) {
  (void)result;
  migration *m = arg;
  rendezvous(m);
  m->y = spool_current_worker();
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (atomic_load(&m->blocker_worker) < 0)
    if (harness_now() > deadline) {
      atomic_store(&m->timed_out, true);
      break;
    } else
      harness_relax();
  return spool_future_set_result(event, NULL) == SPOOL_OK ? 0 : 1;
}

static void test_yield_between(void) {
  harness_phase("yield between fork and sync, one worker");
  spool_executor *ex = harness_executor(1);
  for (int rep = 0; rep < 10; rep++) {
    event = harness_created();
    atomic_store(&frame_ran, false);
    uint64_t s0 = harness_suspends(ex);
    spool_future *t = harness_submit(ex, fork_yield_sync, NULL);
    CHECK(HARNESS_UNTIL(harness_suspends(ex) == s0 + 1, 10));
    /* The worker, free, runs the frame the parked task left behind. */
    CHECK(HARNESS_UNTIL(atomic_load(&frame_ran), 10));
    spool_future *c = harness_submit(ex, completer, HARNESS_PTR(1000));
    CHECK_EQ(harness_result(t, SPOOL_FOREVER), 1042);
    CHECK_EQ(harness_result(c, SPOOL_FOREVER), 0);
    spool_future_release(t);
    spool_future_release(c);
    spool_future_release(event);
  }
  spool_executor_destroy(ex);

  harness_phase("yield between fork and sync, resumed on the other worker");
  ex = harness_executor(2);
  for (int rep = 0; rep < 20; rep++) {
    static migration m;
    memset(&m, 0, sizeof m);
    m.ex = ex;
    atomic_store(&m.blocker_worker, -1);
    event = harness_created();
    spool_future *t = harness_submit(ex, migrating_task, &m);
    spool_future *c = harness_submit(ex, completing_task, &m);
    CHECK_EQ(harness_result(t, SPOOL_FOREVER), 0);
    CHECK_EQ(harness_result(c, SPOOL_FOREVER), 0);
    CHECK_EQ(spool_join(ex, 10.0 * harness_slowness()), SPOOL_OK);
    CHECK(!atomic_load(&m.timed_out));
    CHECK(m.x != m.y && m.x >= 0 && m.y >= 0);
    CHECK_EQ(atomic_load(&m.blocker_worker), m.x);
    CHECK_EQ(m.after_yield, m.y); /* moved */
    CHECK(pthread_equal(m.after_yield_thread, harness_worker_thread[m.y]));
    CHECK_EQ(m.forks_here, 64);
    CHECK_EQ(m.forks_there, 0);
    CHECK_EQ(m.rc_sync, SPOOL_OK);
    CHECK_EQ(m.synced, 41);
    CHECK(m.after_sync >= 0 && m.after_sync < 2);
    CHECK(pthread_equal(m.after_sync_thread, harness_worker_thread[m.after_sync]));
    spool_future_release(t);
    spool_future_release(c);
    spool_future_release(event);
  }
  spool_executor_destroy(ex);
}

/* ---- 3. a continuation above the frame ------------------------------------ */

static int parked_on_event(void *arg, void **result) {
  (void)arg;
  if (spool_future_yield_until_done(event) != SPOOL_OK) return 1;
  void *v = NULL;
  int rc = spool_future_result(event, 0, &v);
  *result = HARNESS_PTR((intptr_t)v + 1);
  return rc;
}

static int fork_complete_sync(void *arg, void **result) {
  (void)arg;
  spool_task t;
  spool_fork(&t, harness_fib, HARNESS_PTR(16));
  /* The parked task's continuation goes onto this worker's deque, above
     the frame. */
  if (spool_future_set_result(event, HARNESS_PTR(50)) != SPOOL_OK) return 1;
  void *v = NULL;
  int rc = spool_sync(&t, &v);
  *result = v;
  return rc;
}

static void test_continuation_above(void) {
  harness_phase("a continuation pushed above the frame");
  for (unsigned workers = 1; workers <= 2; workers++) {
    spool_executor *ex = harness_executor(workers);
    for (int rep = 0; rep < 10; rep++) {
      event = harness_created();
      spool_stats s0 = harness_stats(ex);
      spool_future *s = harness_submit(ex, parked_on_event, NULL);
      CHECK(HARNESS_UNTIL(harness_suspends(ex) == s0.suspends + 1, 10));
      spool_future *t = harness_submit(ex, fork_complete_sync, NULL);
      CHECK_EQ(harness_result(t, SPOOL_FOREVER), 987);
      CHECK_EQ(harness_result(s, SPOOL_FOREVER), 51);
      CHECK(harness_stats(ex).resumes > s0.resumes);
      spool_future_release(s);
      spool_future_release(t);
      spool_future_release(event);
    }
    spool_executor_destroy(ex);
  }
}

/* ---- 4. frames in an array, synced in reverse -------------------------------- */

#define ARRAY 64

static int square_with_forks(void *arg, void **result) {
  intptr_t i = (intptr_t)arg;
  void *f = NULL;
  int rc = harness_fib(HARNESS_PTR(i % 12), &f); /* some forks of its own */
  *result = HARNESS_PTR(i * i + (intptr_t)f);
  return rc;
}

static int array_of_frames(void *arg, void **result) {
  intptr_t nested = (intptr_t)arg;
  spool_task ts[ARRAY];
  for (intptr_t i = 0; i < ARRAY; i++)
    spool_fork(&ts[i], nested ? array_of_frames : square_with_forks,
               HARNESS_PTR(nested ? nested - 1 : i));
  intptr_t sum = 0;
  int bad = 0;
  for (int i = ARRAY - 1; i >= 0; i--) {
    void *v = NULL;
    int rc = spool_sync(&ts[i], &v);
    if (rc) bad = rc;
    if (!nested && (intptr_t)v != (intptr_t)i * i + harness_fib_serial(i % 12)) bad = 99;
    sum += (intptr_t)v;
  }
  *result = HARNESS_PTR(sum);
  return bad;
}

static void test_array_reverse(void) {
  harness_phase("frames in an array, synced in reverse");
  intptr_t one = 0;
  for (intptr_t i = 0; i < ARRAY; i++)
    one += i * i + harness_fib_serial(i % 12);
  for (unsigned workers = 1; workers <= 4; workers *= 2) {
    spool_executor *ex = harness_executor(workers);
    for (int rep = 0; rep < 5; rep++) {
      void *r = NULL;
      CHECK_EQ(spool_run(ex, array_of_frames, HARNESS_PTR(0), &r), SPOOL_OK);
      CHECK_EQ((intptr_t)r, one);
      CHECK_EQ(spool_run(ex, array_of_frames, HARNESS_PTR(1), &r), SPOOL_OK);
      CHECK_EQ((intptr_t)r, one * ARRAY);
    }
    spool_executor_destroy(ex);
  }
}

/* ---- 5. fork after shutdown ------------------------------------------------- */

typedef struct after_shutdown {
  spool_executor *ex;
  _Atomic bool running, shut;
  int submit_rc;
} after_shutdown;

static int fork_after_shutdown(void *arg, void **result) {
  after_shutdown *a = arg;
  atomic_store(&a->running, true);
  if (!spin_until(&a->shut)) return 1;
  a->submit_rc = spool_submit(a->ex, value_plus_one, NULL, NULL);
  void *v = NULL;
  int rc = harness_fib(HARNESS_PTR(20), &v);
  *result = v;
  return rc;
}

static void test_fork_after_shutdown(void) {
  harness_phase("fork after shutdown inside a running task");
  for (unsigned workers = 1; workers <= 2; workers++) {
    spool_executor *ex = harness_executor(workers);
    after_shutdown a;
    memset(&a, 0, sizeof a);
    a.ex = ex;
    spool_future *f = harness_submit(ex, fork_after_shutdown, &a);
    CHECK(HARNESS_UNTIL(atomic_load(&a.running), 10));
    spool_stats s0 = harness_stats(ex);
    CHECK_EQ(spool_shutdown(ex, false, false), SPOOL_OK);
    atomic_store(&a.shut, true);
    CHECK_EQ(harness_result(f, SPOOL_FOREVER), 6765);
    CHECK_EQ(a.submit_rc, SPOOL_ESHUTDOWN);
    spool_stats s1 = harness_stats(ex);
    CHECK(s1.forks - s0.forks >= 10000); /* fib(20) forks 10945 times */
    spool_future_release(f);
    CHECK_EQ(spool_shutdown(ex, true, false), SPOOL_OK);
    spool_executor_destroy(ex);
  }
}

/* ---- 6. the owner syncs a frame a thief is still running ----------------------- */

typedef struct steal_probe {
  spool_executor *ex;
  int owner;
  uint64_t suspends_before;
  _Atomic int stolen_index; /* -1 until a thief runs a frame */
  _Atomic bool timed_out;
} steal_probe;

static steal_probe probe;
static spool_future *never; /* a created future nobody completes */

/* A frame: on a thief, it waits until the owner has parked in its sync. */
static int maybe_stolen(void *arg, void **result) {
  intptr_t i = (intptr_t)arg;
  *result = HARNESS_PTR(i * 10);
  if (spool_current_worker() == probe.owner) return 0;
  int expected = -1;
  atomic_compare_exchange_strong(&probe.stolen_index, &expected, (int)i);
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (harness_suspends(probe.ex) == probe.suspends_before) {
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
  /* Fork until a thief has taken a frame. A fork publishes frames when an
     idle worker asks for work; should the idle worker be asleep without
     having asked (idle_thief.c checks that this does not happen), a short
     blocking wait publishes everything and wakes it (a worker publishes
     before it blocks), so that this case is reached regardless. */
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
    bad |= spool_sync(&ts[i], &v);
    if ((intptr_t)v != (intptr_t)i * 10) bad |= 64;
  }
  *result = HARNESS_PTR(n);
  return bad | (atomic_load(&probe.stolen_index) < 0 ? 128 : 0);
}

static void test_stolen_running(void) {
  harness_phase("owner syncs a frame a thief is still running");
  spool_executor *ex = harness_executor(2);
  never = harness_created();
  for (int rep = 0; rep < 10; rep++) {
    memset(&probe, 0, sizeof probe);
    probe.ex = ex;
    atomic_store(&probe.stolen_index, -1);
    spool_stats s0 = harness_stats(ex);
    probe.suspends_before = s0.suspends;
    void *n = NULL;
    CHECK_EQ(spool_run(ex, owner_task, NULL, &n), SPOOL_OK);
    CHECK(!atomic_load(&probe.timed_out));
    CHECK(atomic_load(&probe.stolen_index) >= 0);
    spool_stats s1 = harness_stats(ex);
    CHECK(s1.suspends > s0.suspends);
    CHECK(s1.forks_stolen > s0.forks_stolen);
    CHECK_EQ(s1.suspends - s0.suspends, s1.resumes - s0.resumes);
  }
  spool_executor_destroy(ex);
  spool_future_release(never);
}

int main(void) {
  test_submit_between();
  test_yield_between();
  test_continuation_above();
  test_array_reverse();
  test_fork_after_shutdown();
  test_stolen_running();
  harness_watchdog_off();
  return harness_report();
}
