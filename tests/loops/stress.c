/* spool_for and spool_map under concurrency (a plain main() program, so it
 * also runs under ThreadSanitizer):
 *
 *   cover     exact coverage for random (begin, end, grain) triples, from
 *             several outside threads at once, on 1 to 4 workers
 *   nested    loops inside loop bodies, and loops inside tasks
 *   stop      early stop: after a body fails, at most one more body starts
 *             per worker
 *   blocking  a body that blocks until a later index has run does not
 *             deadlock (the rest of the range stays stealable)
 *   map       spool_map returns the code of the lowest failing index even
 *             when a higher index fails first in time
 *   spread    a loop started while the other workers sleep wakes them
 *   busy      grain 0 with every other worker busy: at most 64 bodies */
#include "harness.h"
#include "ranges.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
  uint64_t x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  return x * 0x2545F4914F6CDD1Dull;
}

/* ---- cover ------------------------------------------------------------------ */

typedef struct cover_job {
  spool_executor *ex;
  uint64_t seed;
  unsigned rounds;
  unsigned failures;
} cover_job;

static void *cover_thread(void *arg) {
  cover_job *j = arg;
  uint64_t s = j->seed;
  for (unsigned k = 0; k < j->rounds; k++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    size_t len = (size_t)(s >> 40) % 20000;
    size_t begin = (s >> 20) & 1 ? SIZE_MAX - len - (size_t)((s >> 8) % 3) : (size_t)(s >> 33);
    size_t grains[] = {0, 1, 1 + (size_t)((s >> 4) % 97), len + 1, SIZE_MAX};
    size_t grain = grains[(s >> 12) % 5];
    if (grain == 1 && len > 3000) len = 3000;
    ranges r;
    ranges_init(&r, j->ex, len + 2);
    int rc = spool_for(j->ex, begin, begin + len, grain, ranges_body, &r);
    const char *problem = ranges_problem(&r, begin, begin + len, grain);
    if (rc != SPOOL_OK || problem) {
      fprintf(stderr, "[%zu, +%zu) grain %zu: rc %d, %s\n", begin, len, grain, rc,
              problem ? problem : "");
      j->failures++;
    }
    ranges_destroy(&r);
  }
  return NULL;
}

static void test_cover(unsigned workers) {
  harness_phase("cover");
  spool_executor *ex = harness_executor(workers);
  enum { THREADS = 3 };
  cover_job jobs[THREADS];
  pthread_t th[THREADS];
  unsigned rounds = 40 * harness_scale() / harness_slowness() + 5;
  for (int i = 0; i < THREADS; i++) {
    jobs[i] = (cover_job){ex, rng(), rounds, 0};
    pthread_create(&th[i], NULL, cover_thread, &jobs[i]);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    CHECK_EQ(jobs[i].failures, 0);
  }
  spool_executor_destroy(ex);
}

/* ---- nested ------------------------------------------------------------------ */

enum { OUTER = 40, INNER = 5000 };

typedef struct nested {
  spool_executor *ex;
  ranges inner[OUTER];
  int inner_rc[OUTER];
  _Atomic unsigned outer_done;
} nested;

static int nested_outer(size_t lo, size_t hi, void *ctx) {
  nested *n = ctx;
  for (size_t i = lo; i < hi; i++) {
    n->inner_rc[i] =
        spool_for(n->ex, i * INNER, (i + 1) * INNER, i % 3 == 0 ? 0 : i, ranges_body, &n->inner[i]);
    atomic_fetch_add_explicit(&n->outer_done, 1, memory_order_relaxed);
  }
  return 0;
}

static int nested_in_task(void *arg, void **result) {
  (void)result;
  nested *n = arg;
  return spool_for(n->ex, 0, OUTER, 1, nested_outer, n);
}

static void test_nested(unsigned workers) {
  harness_phase("nested");
  spool_executor *ex = harness_executor(workers);
  for (int from_task = 0; from_task < 2; from_task++) {
    static nested n;
    n.ex = ex;
    atomic_store(&n.outer_done, 0);
    for (int i = 0; i < OUTER; i++)
      ranges_init(&n.inner[i], ex, INNER + 1);
    int rc = from_task ? spool_run(ex, nested_in_task, &n, NULL)
                       : spool_for(ex, 0, OUTER, 0, nested_outer, &n);
    CHECK_EQ(rc, SPOOL_OK);
    CHECK_EQ(atomic_load(&n.outer_done), OUTER);
    unsigned bad = 0;
    for (size_t i = 0; i < OUTER; i++) {
      const char *p = ranges_problem(&n.inner[i], i * INNER, (i + 1) * INNER, i % 3 == 0 ? 0 : i);
      if (p || n.inner_rc[i] != SPOOL_OK) {
        fprintf(stderr, "inner loop %zu: rc %d, %s\n", i, n.inner_rc[i], p ? p : "");
        bad++;
      }
      ranges_destroy(&n.inner[i]);
    }
    CHECK_EQ(bad, 0);
  }
  spool_executor_destroy(ex);
}

/* ---- stop ----------------------------------------------------------------------- */

typedef struct stop_job {
  size_t fail_at;
  _Atomic bool failed;      /* set by the failing body just before it returns */
  _Atomic unsigned late;    /* bodies that started after that */
  _Atomic unsigned started; /* all bodies */
} stop_job;

static int stop_body(size_t lo, size_t hi, void *ctx) {
  stop_job *s = ctx;
  /* seq_cst, as the loop's own stop flag */
  if (atomic_load(&s->failed)) atomic_fetch_add(&s->late, 1);
  atomic_fetch_add(&s->started, 1);
  for (volatile size_t i = lo; i < hi; i++) {
  }
  if (lo <= s->fail_at && s->fail_at < hi) {
    atomic_store(&s->failed, true);
    return 42;
  }
  return 0;
}

static void test_stop(unsigned workers) {
  harness_phase("stop");
  spool_executor *ex = harness_executor(workers);
  unsigned rounds = 20 * harness_scale();
  unsigned over = 0, worst = 0, bad_rc = 0, all_ran = 0;
  for (unsigned k = 0; k < rounds; k++) {
    stop_job s = {.fail_at = (size_t)(rng() % 20000)};
    atomic_init(&s.failed, false);
    atomic_init(&s.late, 0);
    atomic_init(&s.started, 0);
    size_t grain = k % 2 ? 1 : 7;
    int rc = spool_for(ex, 0, 20000, grain, stop_body, &s);
    if (rc != 42) bad_rc++;
    unsigned late = atomic_load(&s.late);
    if (late > workers) over++;
    if (late > worst) worst = late;
    if (atomic_load(&s.started) >= (20000 + grain - 1) / grain) all_ran++;
  }
  CHECK_EQ(bad_rc, 0);
  /* At most one body per worker may start after the failure: the one that
     worker was already starting. The test sees the failure a few
     instructions before the loop does (the body sets `failed`, returns,
     and only then is its code stored), so a failing thread descheduled in
     that window (a loaded machine, ThreadSanitizer) lets others start more
     in the meantime; that may happen in a few rounds, while a loop that
     does not stop promptly exceeds the bound in every round. */
  if (!CHECK(over <= rounds / 4) || getenv("HARNESS_VERBOSE"))
    fprintf(stderr, "%u of %u rounds with more than %u late bodies (worst %u)\n", over, rounds,
            workers, worst);
  /* And the loop did stop: not every round ran every body. */
  CHECK(all_ran < rounds);
  spool_executor_destroy(ex);
}

/* ---- blocking ------------------------------------------------------------------ */

typedef struct blocking {
  spool_future *last_ran; /* created; set by the body of the last index */
  size_t n;
  int yield; /* wait cooperatively instead of blocking */
} blocking;

static int blocking_body(size_t lo, size_t hi, void *ctx) {
  blocking *b = ctx;
  if (hi == b->n) spool_future_set_result(b->last_ran, NULL);
  if (lo == 0) {
    if (b->yield) return spool_future_yield_until_done(b->last_ran);
    return spool_future_result(b->last_ran, SPOOL_FOREVER, NULL);
  }
  return 0;
}

static void test_blocking(unsigned workers) {
  harness_phase("blocking");
  spool_executor *ex = harness_executor(workers);
  for (int yield = 0; yield < 2; yield++) {
    /* Blocking needs another worker to run the rest; yielding does not. */
    if (!yield && workers < 2) continue;
    for (size_t grain = 0; grain < 3; grain++) {
      blocking b = {harness_created(), 1000, yield};
      CHECK_EQ(spool_for(ex, 0, b.n, grain, blocking_body, &b), SPOOL_OK);
      spool_future_release(b.last_ran);
    }
  }
  spool_executor_destroy(ex);
}

/* ---- map ---------------------------------------------------------------------- */

enum { MAP_N = 64 };

typedef struct map_order {
  spool_future *high_failed; /* set by the test's thread once index 63 failed */
  _Atomic bool high_returning;
} map_order;

static map_order order;

static int map_item(void *arg, void **result) {
  (void)result;
  intptr_t i = (intptr_t)arg;
  if (i == MAP_N - 1) {
    atomic_store(&order.high_returning, true);
    return -(MAP_N - 1);
  }
  if (i == 0) {
    /* Fails only after the higher index has failed. */
    spool_future_result(order.high_failed, SPOOL_FOREVER, NULL);
    return -1000;
  }
  return 0;
}

typedef struct map_call {
  spool_executor *ex;
  void *args[MAP_N];
  int errors[MAP_N];
  int rc;
} map_call;

static void *map_thread(void *arg) {
  map_call *m = arg;
  m->rc = spool_map(m->ex, map_item, m->args, MAP_N, NULL, m->errors);
  return NULL;
}

static void test_map_lowest(unsigned workers) {
  harness_phase("map");
  if (workers < 2) return; /* index 0 blocks its worker */
  spool_executor *ex = harness_executor(workers);
  unsigned rounds = 5 * harness_scale();
  for (unsigned k = 0; k < rounds; k++) {
    order.high_failed = harness_created();
    atomic_store(&order.high_returning, false);
    static map_call m;
    m.ex = ex;
    for (intptr_t i = 0; i < MAP_N; i++)
      m.args[i] = (void *)i;
    pthread_t th;
    pthread_create(&th, NULL, map_thread, &m);
    CHECK(HARNESS_UNTIL(atomic_load(&order.high_returning), 30.0));
    spool_future_set_result(order.high_failed, NULL);
    pthread_join(th, NULL);
    CHECK_EQ(m.rc, -1000);
    CHECK_EQ(m.errors[0], -1000);
    CHECK_EQ(m.errors[MAP_N - 1], -(MAP_N - 1));
    CHECK_EQ(m.errors[1], 0);
    spool_future_release(order.high_failed);
  }
  spool_executor_destroy(ex);
}

/* ---- spread --------------------------------------------------------------------- */

typedef struct spread {
  unsigned workers;
  _Atomic unsigned arrived;
  _Atomic int seen[HARNESS_MAX_WORKERS];
} spread;

static int spread_body(size_t lo, size_t hi, void *ctx) {
  (void)lo;
  (void)hi;
  spread *s = ctx;
  int w = spool_current_worker();
  if (w >= 0 && w < HARNESS_MAX_WORKERS && !atomic_exchange(&s->seen[w], 1))
    atomic_fetch_add(&s->arrived, 1);
  /* Every body waits until a second worker has joined the loop: only a
     loop that hands out work to the sleeping workers gets past this. */
  while (atomic_load(&s->arrived) < 2)
    sched_yield();
  return 0;
}

static void test_spread(unsigned workers) {
  harness_phase("spread");
  if (workers < 2) return;
  spool_executor *ex = harness_executor(workers);
  for (int r = 0; r < 5; r++) {
    /* The workers fall asleep: wait until none has work and all sleep
       (seconds_asleep grows for each). */
    spread s = {.workers = workers};
    atomic_init(&s.arrived, 0);
    for (int i = 0; i < HARNESS_MAX_WORKERS; i++)
      atomic_init(&s.seen[i], 0);
    CHECK_EQ(spool_for(ex, 0, 1000, 0, spread_body, &s), SPOOL_OK);
    CHECK(atomic_load(&s.arrived) >= 2);
  }
  spool_executor_destroy(ex);
}

/* ---- bodies on busy workers ---------------------------------------------------- */

typedef struct busy {
  _Atomic bool release;
  _Atomic bool running;
} busy;

static int busy_task(void *arg, void **result) {
  (void)result;
  busy *b = arg;
  atomic_store(&b->running, true);
  while (!atomic_load(&b->release))
    sched_yield();
  return 0;
}

static int count_body(size_t lo, size_t hi, void *ctx) {
  (void)lo;
  (void)hi;
  atomic_fetch_add_explicit((_Atomic unsigned *)ctx, 1, memory_order_relaxed);
  return 0;
}

/* grain 0 with no other worker free: at most 64 bodies for 10^6 indices
   (every worker but the one running the loop is kept busy by a task). */
static void test_busy_bodies(unsigned workers) {
  harness_phase("busy bodies");
  spool_executor *ex = harness_executor(workers);
  busy b;
  atomic_init(&b.release, false);
  atomic_init(&b.running, false);
  spool_future *hog[HARNESS_MAX_WORKERS];
  for (unsigned k = 0; k < 3; k++) {
    atomic_store(&b.release, false);
    unsigned hogs = workers - 1;
    for (unsigned i = 0; i < hogs; i++) {
      atomic_store(&b.running, false);
      hog[i] = harness_submit(ex, busy_task, &b);
      CHECK(HARNESS_UNTIL(atomic_load(&b.running), 30.0));
    }
    _Atomic unsigned bodies;
    atomic_init(&bodies, 0);
    CHECK_EQ(spool_for(ex, 0, 1000000, 0, count_body, &bodies), SPOOL_OK);
    unsigned n = atomic_load(&bodies);
    if (!CHECK(n >= 1 && n <= 64)) fprintf(stderr, "%u bodies on %u workers\n", n, workers);
    atomic_store(&b.release, true);
    for (unsigned i = 0; i < hogs; i++) {
      CHECK_EQ(spool_future_result(hog[i], SPOOL_FOREVER, NULL), SPOOL_OK);
      spool_future_release(hog[i]);
    }
  }
  spool_executor_destroy(ex);
}

int main(void) {
  harness_phase_limited("all", 600);
  const unsigned counts[] = {1, 2, 4};
  for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
    unsigned w = counts[i];
    test_cover(w);
    test_nested(w);
    test_stop(w);
    test_blocking(w);
    test_map_lowest(w);
    test_spread(w);
    test_busy_bodies(w);
  }
  return harness_report();
}
