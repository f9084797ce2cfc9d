/* Typed fork-join (spool.h: SPOOL_FORKABLE, spool_frame, SPOOL_FORK,
 * SPOOL_SYNC), through the public API, built with the inline path and with
 * SPOOL_NO_INLINE (meson.build), as every fork-join program is.
 *
 *  1. Functions of 1 to 6 parameters of mixed types (integers narrower and
 *     wider than a register, a double, a pointer, a function pointer), on
 *     a worker and outside one: the value returned is the call's.
 *  2. Struct arguments and results: a divide-and-conquer over a struct
 *     range returning a struct, on 1, 2 and 4 workers, equals the serial.
 *  3. The void form: a recursive fill of an array, every cell written once.
 *  4. Each argument is evaluated exactly once (side effects counted), and a
 *     compound literal (commas of its own) passes as an argument.
 *  5. A frame forked again after its sync, many times, on a worker.
 *  6. Outside a worker, SPOOL_FORK runs the function at once.
 *  7. Frames stolen by a thief return the thief's value: the owner keeps
 *     forking until a frame ran on the other worker (forks_stolen grows),
 *     and every sync returns its frame's value.
 *  8. A yield between fork and sync that resumes on the other worker (the
 *     frame lies in the first worker's deque): the sync returns the value.
 *  9. Typed and untyped frames mixed, synced in reverse order.
 * 10. The statistics count typed forks. */
#include "harness.h"

/* ---- the forkable functions -------------------------------------------------- */

typedef long (*unary_fn)(long);

static long twice(long x) {
  return 2 * x;
}

static long p1(long a);
static long p2(long a, int b);
static long p3(long a, int b, unsigned char c);
static double p4(long a, int b, unsigned char c, double d);
static long p5(long a, int b, unsigned char c, double d, const char *e);
static long long p6(long a, int b, unsigned char c, double d, const char *e, unary_fn f);
SPOOL_FORKABLE(long, p1, long);
SPOOL_FORKABLE(long, p2, long, int);
SPOOL_FORKABLE(long, p3, long, int, unsigned char);
SPOOL_FORKABLE(double, p4, long, int, unsigned char, double);
SPOOL_FORKABLE(long, p5, long, int, unsigned char, double, const char *);
SPOOL_FORKABLE(long long, p6, long, int, unsigned char, double, const char *, unary_fn);

static long p1(long a) {
  return a + 1;
}
static long p2(long a, int b) {
  return a * 10 + b;
}
static long p3(long a, int b, unsigned char c) {
  return p2(a, b) * 1000 + c;
}
static double p4(long a, int b, unsigned char c, double d) {
  return (double)p3(a, b, c) + d;
}
static long p5(long a, int b, unsigned char c, double d, const char *e) {
  return (long)p4(a, b, c, d) * 100 + (long)strlen(e);
}
static long long p6(long a, int b, unsigned char c, double d, const char *e, unary_fn f) {
  return (long long)f(p5(a, b, c, d, e)) + (1LL << 40);
}

typedef struct range {
  long lo, hi;
} range;
typedef struct sums {
  long sum, count, squares;
} sums;

static sums range_sums(range r);
SPOOL_FORKABLE(sums, range_sums, range);

static sums range_sums(range r) {
  if (r.hi - r.lo <= 3) {
    sums s = {0, 0, 0};
    for (long i = r.lo; i < r.hi; i++)
      s.sum += i, s.count++, s.squares += i * i;
    return s;
  }
  long mid = r.lo + (r.hi - r.lo) / 2;
  spool_frame(range_sums) f;
  SPOOL_FORK(&f, range_sums, (range){r.lo, mid});
  sums right = range_sums((range){mid, r.hi});
  sums left = SPOOL_SYNC(&f, range_sums);
  return (sums){left.sum + right.sum, left.count + right.count, left.squares + right.squares};
}

static void fill(int *a, size_t n, int v);
SPOOL_FORKABLE_VOID(fill, int *, size_t, int);

static void fill(int *a, size_t n, int v) {
  if (n <= 2) {
    for (size_t i = 0; i < n; i++)
      a[i] += v;
    return;
  }
  spool_frame(fill) f;
  SPOOL_FORK(&f, fill, a, n / 2, v);
  fill(a + n / 2, n - n / 2, v);
  SPOOL_SYNC(&f, fill);
}

static long tfib(long n);
SPOOL_FORKABLE(long, tfib, long);

static long tfib(long n) {
  if (n < 2) return n;
  spool_frame(tfib) f;
  SPOOL_FORK(&f, tfib, n - 1);
  long b = tfib(n - 2);
  return SPOOL_SYNC(&f, tfib) + b;
}

static int tfib_task(void *arg, void **result) {
  *result = HARNESS_PTR(tfib((long)(intptr_t)arg));
  return 0;
}

/* ---- 1. one to six parameters ------------------------------------------------- */

static int all_arities(void *arg, void **result) {
  (void)arg;
  spool_frame(p1) f1;
  spool_frame(p2) f2;
  spool_frame(p3) f3;
  spool_frame(p4) f4;
  spool_frame(p5) f5;
  spool_frame(p6) f6;
  SPOOL_FORK(&f1, p1, 41);
  SPOOL_FORK(&f2, p2, 4, 2);
  int wide = 300;
  SPOOL_FORK(&f3, p3, 4, 2, wide); /* converted as in a call: unsigned char 44 */
  SPOOL_FORK(&f4, p4, 4, 2, 7, 0.5);
  SPOOL_FORK(&f5, p5, 4, 2, 7, 0.5, "abc");
  SPOOL_FORK(&f6, p6, 4, 2, 7, 0.5, "abcd", twice);
  bool ok = true;
  ok &= CHECK_EQ(SPOOL_SYNC(&f6, p6), 2 * 4200704LL + (1LL << 40));
  ok &= CHECK_EQ(SPOOL_SYNC(&f5, p5), 4200703);
  ok &= CHECK(SPOOL_SYNC(&f4, p4) == 42007.5);
  ok &= CHECK_EQ(SPOOL_SYNC(&f3, p3), 42044);
  ok &= CHECK_EQ(SPOOL_SYNC(&f2, p2), 42);
  ok &= CHECK_EQ(SPOOL_SYNC(&f1, p1), 42);
  *result = HARNESS_PTR(ok);
  return 0;
}

static void test_arities(void) {
  harness_phase("one to six parameters, outside a worker and on one");
  void *r = NULL;
  CHECK_EQ(all_arities(NULL, &r), 0);
  CHECK(r == HARNESS_PTR(1));
  for (unsigned workers = 1; workers <= 2; workers++) {
    spool_executor *ex = harness_executor(workers);
    for (int rep = 0; rep < 20; rep++) {
      r = NULL;
      CHECK_EQ(spool_run(ex, all_arities, NULL, &r), SPOOL_OK);
      CHECK(r == HARNESS_PTR(1));
    }
    spool_executor_destroy(ex);
  }
}

/* ---- 2, 3. structs, the void form, fib ---------------------------------------- */

static int structs_and_void(void *arg, void **result) {
  long n = (long)(intptr_t)arg;
  sums s = range_sums((range){-n / 3, n});
  sums want = {0, 0, 0};
  for (long i = -n / 3; i < n; i++)
    want.sum += i, want.count++, want.squares += i * i;
  int *cells = calloc((size_t)n, sizeof *cells);
  if (!cells) return 1;
  fill(cells, (size_t)n, 3);
  fill(cells, (size_t)n, 4);
  long bad_cells = 0;
  for (long i = 0; i < n; i++)
    bad_cells += cells[i] != 7;
  free(cells);
  *result = HARNESS_PTR(s.sum == want.sum && s.count == want.count && s.squares == want.squares &&
                        bad_cells == 0);
  return 0;
}

static void test_structs_void_fib(void) {
  static const unsigned counts[] = {1, 2, 4};
  for (int k = 0; k < 3; k++) {
    harness_phase("struct arguments and results, the void form, fib");
    spool_executor *ex = harness_executor(counts[k]);
    spool_stats s0 = harness_stats(ex);
    for (int rep = 0; rep < 5; rep++) {
      void *r = NULL;
      CHECK_EQ(spool_run(ex, structs_and_void, HARNESS_PTR(5000 + rep), &r), SPOOL_OK);
      CHECK(r == HARNESS_PTR(1));
      r = NULL;
      CHECK_EQ(spool_run(ex, tfib_task, HARNESS_PTR(20), &r), SPOOL_OK);
      CHECK_EQ((intptr_t)r, 6765);
    }
    /* fib(20) forks F(21) - 1 times. */
    CHECK(harness_stats(ex).forks - s0.forks >= 5 * (10946 - 1));
    spool_executor_destroy(ex);
  }
  void *r = NULL;
  CHECK_EQ(structs_and_void(HARNESS_PTR(100), &r), 0); /* outside */
  CHECK(r == HARNESS_PTR(1));
}

/* ---- 4, 5, 6. evaluation, reuse, outside ------------------------------------- */

static _Atomic int p1_calls;
static long counted(long a);
SPOOL_FORKABLE(long, counted, long);
static long counted(long a) {
  atomic_fetch_add(&p1_calls, 1);
  return a;
}

static int evaluation_and_reuse(void *arg, void **result) {
  (void)arg;
  bool ok = true;
  long next = 0;
  spool_frame(counted) f;
  /* Each argument once: side effects happen once, before the fork. */
  SPOOL_FORK(&f, counted, next++);
  ok &= CHECK_EQ(next, 1);
  ok &= CHECK_EQ(SPOOL_SYNC(&f, counted), 0);
  ok &= CHECK_EQ(next, 1);
  spool_frame(range_sums) g;
  int evaluated = 0;
  SPOOL_FORK(&g, range_sums, (range){(evaluated++, 0), 10});
  ok &= CHECK_EQ(evaluated, 1);
  ok &= CHECK_EQ(SPOOL_SYNC(&g, range_sums).sum, 45);
  /* The same frame, forked again after each sync. */
  long total = 0;
  atomic_store(&p1_calls, 0);
  for (long i = 0; i < 1000; i++) {
    SPOOL_FORK(&f, counted, i);
    total += SPOOL_SYNC(&f, counted);
  }
  ok &= CHECK_EQ(total, 999 * 1000 / 2);
  ok &= CHECK_EQ(atomic_load(&p1_calls), 1000);
  *result = HARNESS_PTR(ok);
  return 0;
}

static void test_evaluation_reuse_outside(void) {
  harness_phase("arguments evaluated once; a frame forked again after its sync");
  spool_executor *ex = harness_executor(2);
  void *r = NULL;
  CHECK_EQ(spool_run(ex, evaluation_and_reuse, NULL, &r), SPOOL_OK);
  CHECK(r == HARNESS_PTR(1));
  spool_executor_destroy(ex);

  harness_phase("outside a worker: SPOOL_FORK runs the function at once");
  r = NULL;
  CHECK_EQ(evaluation_and_reuse(NULL, &r), 0);
  CHECK(r == HARNESS_PTR(1));
  atomic_store(&p1_calls, 0);
  spool_frame(counted) f;
  SPOOL_FORK(&f, counted, 77);
  CHECK_EQ(atomic_load(&p1_calls), 1); /* ran at once */
  CHECK_EQ(SPOOL_SYNC(&f, counted), 77);
  CHECK_EQ(atomic_load(&p1_calls), 1); /* and only once */
  CHECK_EQ(tfib(15), 610);
}

/* ---- 7. frames stolen by a thief ----------------------------------------------- */

static struct {
  spool_executor *ex;
  int owner;
  _Atomic int stolen;
} steal;

static long stealable(long i);
SPOOL_FORKABLE(long, stealable, long);

/* Its value tells who ran it: the thief's value differs from the owner's,
   so a value returned by a sync proves where it came from. */
static long stealable(long i) {
  if (spool_current_worker() == steal.owner) return i * 10;
  atomic_fetch_add(&steal.stolen, 1);
  return i * 10 + 1;
}

#define MAX_FORKS 4096

static int owner_forks(void *arg, void **result) {
  (void)arg;
  static spool_frame(stealable) fs[MAX_FORKS];
  static spool_future *never;
  if (!never) never = harness_created();
  steal.owner = spool_current_worker();
  int n = 0;
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (n < MAX_FORKS && atomic_load(&steal.stolen) == 0 && harness_now() < deadline) {
    SPOOL_FORK(&fs[n], stealable, n);
    n++;
    for (int spin = 0; spin < 200 && atomic_load(&steal.stolen) == 0; spin++)
      harness_relax();
    /* A worker publishes before it blocks (see slow_path.c). */
    if (n % 64 == 0 && atomic_load(&steal.stolen) == 0) spool_future_result(never, 0.001, NULL);
  }
  long by_thief = 0, wrong = 0;
  for (int i = n - 1; i >= 0; i--) {
    long v = SPOOL_SYNC(&fs[i], stealable);
    if (v / 10 != i) wrong++;
    by_thief += v % 10;
  }
  *result = HARNESS_PTR(wrong == 0 && by_thief == atomic_load(&steal.stolen) && by_thief > 0);
  return 0;
}

static void test_stolen(void) {
  harness_phase("typed frames stolen by a thief return the thief's value");
  spool_executor *ex = harness_executor(2);
  for (int rep = 0; rep < 10; rep++) {
    steal.ex = ex;
    atomic_store(&steal.stolen, 0);
    spool_stats s0 = harness_stats(ex);
    void *r = NULL;
    CHECK_EQ(spool_run(ex, owner_forks, NULL, &r), SPOOL_OK);
    CHECK(r == HARNESS_PTR(1));
    CHECK(harness_stats(ex).forks_stolen > s0.forks_stolen);
  }
  /* And fib on two workers, where thieves take what they can. */
  for (int rep = 0; rep < 5; rep++) {
    void *r = NULL;
    CHECK_EQ(spool_run(ex, tfib_task, HARNESS_PTR(24), &r), SPOOL_OK);
    CHECK_EQ((intptr_t)r, 46368);
  }
  spool_executor_destroy(ex);
}

/* ---- 8. yield between fork and sync, resumed elsewhere ------------------------ */

static spool_future *event;

typedef struct moved {
  _Atomic int started;
  _Atomic bool blocker_in, resumed, timed_out;
  int before, after;
  long synced;
  spool_executor *ex;
} moved;

static bool wait_flag(_Atomic bool *flag) {
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (!atomic_load(flag))
    if (harness_now() > deadline)
      return false;
    else
      harness_relax();
  return true;
}

static void meet(moved *m) {
  atomic_fetch_add(&m->started, 1);
  double deadline = harness_now() + 20.0 * harness_slowness();
  while (atomic_load(&m->started) < 2 && harness_now() < deadline)
    harness_relax();
  if (atomic_load(&m->started) < 2) atomic_store(&m->timed_out, true);
}

static int hold_worker(void *arg, void **result) {
  (void)result;
  moved *m = arg;
  atomic_store(&m->blocker_in, true);
  if (!wait_flag(&m->resumed)) atomic_store(&m->timed_out, true);
  return 0;
}

static int fork_yield_move_sync(void *arg, void **result) {
  (void)result;
  moved *m = arg;
  meet(m);
  m->before = spool_current_worker();
  spool_frame(p2) f;
  SPOOL_FORK(&f, p2, 4, 2);
  /* The blocker goes above the frame and holds this worker once the task
     parks; the other worker completes the event, so the task resumes there. */
  if (spool_submit(m->ex, hold_worker, m, NULL) != SPOOL_OK) return 1;
  if (spool_future_yield_until_done(event) != SPOOL_OK) return 2;
  m->after = spool_current_worker();
  atomic_store(&m->resumed, true);
  m->synced = SPOOL_SYNC(&f, p2);
  return 0;
}

static int complete_event(void *arg, void **result) {
  (void)result;
  moved *m = arg;
  meet(m);
  if (!wait_flag(&m->blocker_in)) atomic_store(&m->timed_out, true);
  return spool_future_set_result(event, NULL) == SPOOL_OK ? 0 : 1;
}

static void test_yield_moves(void) {
  harness_phase("yield between typed fork and sync, resumed on the other worker");
  spool_executor *ex = harness_executor(2);
  int moves = 0;
  for (int rep = 0; rep < 20; rep++) {
    static moved m;
    memset(&m, 0, sizeof m);
    m.ex = ex;
    event = harness_created();
    spool_future *t = harness_submit(ex, fork_yield_move_sync, &m);
    spool_future *c = harness_submit(ex, complete_event, &m);
    CHECK_EQ(harness_result(t, SPOOL_FOREVER), 0);
    CHECK_EQ(harness_result(c, SPOOL_FOREVER), 0);
    CHECK_EQ(spool_join(ex, 10.0 * harness_slowness()), SPOOL_OK);
    CHECK(!atomic_load(&m.timed_out));
    CHECK_EQ(m.synced, 42);
    moves += m.after != m.before;
    spool_future_release(t);
    spool_future_release(c);
    spool_future_release(event);
  }
  CHECK_EQ(moves, 20); /* the blocker held the first worker each time */
  spool_executor_destroy(ex);
}

/* ---- 9. typed and untyped frames mixed ---------------------------------------- */

static int untyped_p1(void *arg, void **result) {
  *result = HARNESS_PTR(p1((long)(intptr_t)arg));
  return 0;
}

static int mixed(void *arg, void **result) {
  (void)arg;
  enum { DEPTH = 40 };
  spool_frame(p1) typed[DEPTH];
  spool_task untyped[DEPTH];
  for (int i = 0; i < DEPTH; i++) {
    if (i % 3 == 1) {
      spool_fork(&untyped[i], untyped_p1, HARNESS_PTR(i * 100));
    } else {
      SPOOL_FORK(&typed[i], p1, i * 100);
    }
  }
  long bad = 0;
  for (int i = DEPTH - 1; i >= 0; i--) {
    if (i % 3 == 1) {
      void *r = NULL;
      bad += spool_sync(&untyped[i], &r) != SPOOL_OK || (intptr_t)r != i * 100 + 1;
    } else {
      bad += SPOOL_SYNC(&typed[i], p1) != i * 100 + 1;
    }
  }
  *result = HARNESS_PTR(bad == 0);
  return 0;
}

static void test_mixed(void) {
  harness_phase("typed and untyped frames, synced in reverse order");
  for (unsigned workers = 1; workers <= 2; workers++) {
    spool_executor *ex = harness_executor(workers);
    spool_stats s0 = harness_stats(ex);
    for (int rep = 0; rep < 50; rep++) {
      void *r = NULL;
      CHECK_EQ(spool_run(ex, mixed, NULL, &r), SPOOL_OK);
      CHECK(r == HARNESS_PTR(1));
    }
    CHECK_EQ(harness_stats(ex).forks - s0.forks, 50 * 40);
    spool_executor_destroy(ex);
  }
  void *r = NULL;
  CHECK_EQ(mixed(NULL, &r), 0);
  CHECK(r == HARNESS_PTR(1));
}

int main(void) {
  harness_print_fork_join_path();
  test_arities();
  test_structs_void_fib();
  test_evaluation_reuse_outside();
  test_stolen();
  test_yield_moves();
  test_mixed();
  harness_watchdog_off();
  return harness_report();
}
