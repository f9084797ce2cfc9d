/* Many threads waiting on futures that other threads complete.
 *
 * Each round: created futures completed by two outside threads in random
 * order (some with an error); tasks that wait on them, and tasks that wait
 * on those tasks (claimed inline or blocking); and at the same time four
 * waiting threads: one calls result() on every future, one loops on
 * wait(FIRST_COMPLETED), one iterates as_completed, one adds callbacks.
 * Every value and error must arrive where expected, every future once per
 * iterator, every callback exactly once.
 *
 * SPOOL_STRESS_SCALE multiplies the rounds. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"

#define M   48      /* created futures */
#define K   64      /* tasks */
#define ALL (M + K) /* futures of a round: created first, then tasks */

static spool_executor *ex;
static double wait_limit;

typedef struct round_state {
  spool_future *fs[ALL];
  intptr_t expect_value[ALL]; /* when expect_error is 0 */
  int expect_error[ALL];
  atomic_int callbacks[ALL];
  pthread_barrier_t start;
  uint64_t seed;
} round_state;

static round_state *R;

static int index_of(spool_future *f) {
  for (int i = 0; i < ALL; i++)
    if (R->fs[i] == f) return i;
  return -1;
}

/* ---- Tasks ---------------------------------------------------------------- */

/* Waits for the future it is given and adds 1000 to its value. */
static int wait_and_add(void *arg, void **result) {
  spool_future *f = arg;
  void *r = NULL;
  int rc = spool_future_result(f, SPOOL_FOREVER, &r);
  if (rc != SPOOL_OK) return rc;
  *result = (void *)((intptr_t)r + 1000);
  return 0;
}

/* ---- Threads -------------------------------------------------------------- */

typedef struct completer {
  int first, step; /* completes created futures first, first+step, ... */
  uint64_t seed;
} completer;

static void *complete_thread(void *arg) {
  completer *c = arg;
  int idx[M], n = 0;
  for (int i = c->first; i < M; i += c->step)
    idx[n++] = i;
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(stress_rand(&c->seed) % (uint64_t)(i + 1)), t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  pthread_barrier_wait(&R->start);
  for (int k = 0; k < n; k++) {
    int i = idx[k];
    int rc = R->expect_error[i] ? spool_future_set_exception(R->fs[i], R->expect_error[i])
                                : spool_future_set_result(R->fs[i], (void *)R->expect_value[i]);
    VERIFY(rc == SPOOL_OK);
    if (stress_rand(&c->seed) % 4 == 0) sched_yield();
  }
  return NULL;
}

static bool outcome_ok(int i) {
  void *r = NULL;
  int rc = spool_future_result(R->fs[i], 0, &r);
  if (R->expect_error[i]) return rc == R->expect_error[i] && r == NULL;
  return rc == SPOOL_OK && (intptr_t)r == R->expect_value[i];
}

static void *result_thread(void *arg) {
  uint64_t seed = (uint64_t)(uintptr_t)arg;
  pthread_barrier_wait(&R->start);
  for (int k = 0; k < ALL; k++) {
    int i = (int)(stress_rand(&seed) % ALL);
    double t0 = now_s();
    int rc = spool_future_exception(R->fs[i], wait_limit);
    VERIFYF(rc != SPOOL_ETIMEDOUT && !stress_hit_limit(t0, wait_limit),
            "future %d: result() was not woken", i);
    VERIFYF(outcome_ok(i), "future %d: wrong outcome", i);
  }
  return NULL;
}

static void *wait_first_thread(void *arg) {
  (void)arg;
  spool_future *left[ALL];
  memcpy(left, R->fs, sizeof left);
  size_t n = ALL;
  pthread_barrier_wait(&R->start);
  while (n > 0) {
    size_t nd = 0;
    double t0 = now_s();
    int rc = spool_wait(left, n, wait_limit, SPOOL_FIRST_COMPLETED, &nd);
    VERIFYF(!stress_hit_limit(t0, wait_limit), "wait(FIRST_COMPLETED) was not woken");
    if (!VERIFYF(rc == SPOOL_OK && nd >= 1 && nd <= n, "wait: rc %d, %zu of %zu done", rc, nd, n))
      return NULL;
    for (size_t k = 0; k < n; k++)
      VERIFYF(spool_future_done(left[k]) || k >= nd, "a future reported done is not");
    memmove(left, left + nd, (n - nd) * sizeof *left);
    n -= nd;
  }
  return NULL;
}

static void *as_completed_thread(void *arg) {
  (void)arg;
  spool_as_completed *it = NULL;
  /* every future twice: duplicates must come back once */
  spool_future *twice[2 * ALL];
  memcpy(twice, R->fs, ALL * sizeof *twice);
  memcpy(twice + ALL, R->fs, ALL * sizeof *twice);
  VERIFY(spool_as_completed_begin(&it, twice, 2 * ALL) == SPOOL_OK);
  pthread_barrier_wait(&R->start);
  if (!it) return NULL;
  bool seen[ALL] = {false};
  for (int k = 0; k < ALL; k++) {
    spool_future *f = NULL;
    double t0 = now_s();
    int rc = spool_as_completed_next(it, wait_limit, &f);
    VERIFYF(!stress_hit_limit(t0, wait_limit), "as_completed_next was not woken");
    if (!VERIFYF(rc == SPOOL_OK, "as_completed_next: %d after %d", rc, k)) break;
    int i = index_of(f);
    VERIFYF(i >= 0 && !seen[i], "future %d returned twice or unknown", i);
    if (i >= 0) seen[i] = true;
    VERIFY(spool_future_done(f));
  }
  spool_future *f = NULL;
  VERIFY(spool_as_completed_next(it, 0, &f) == SPOOL_EEXHAUSTED);
  spool_as_completed_end(it);
  return NULL;
}

static void count_callback(spool_future *f, void *user) {
  VERIFY(spool_future_done(f));
  atomic_fetch_add((atomic_int *)user, 1);
}

static void *callback_thread(void *arg) {
  (void)arg;
  pthread_barrier_wait(&R->start);
  for (int i = ALL - 1; i >= 0; i--)
    VERIFY(spool_future_add_done_callback(R->fs[i], count_callback, &R->callbacks[i]) == SPOOL_OK);
  return NULL;
}

/* ---- A round -------------------------------------------------------------- */

static void one_round(uint64_t seed) {
  R = calloc(1, sizeof *R);
  R->seed = seed;
  enum { THREADS = 2 + 4 };
  pthread_barrier_init(&R->start, NULL, THREADS + 1);
  for (int i = 0; i < M; i++) {
    VERIFY(spool_future_create(&R->fs[i]) == SPOOL_OK);
    R->expect_error[i] = i % 5 == 0 ? -(i + 1) : 0;
    R->expect_value[i] = i + 1;
  }
  /* first half of the tasks waits on created futures, the second half on
     tasks of the first half */
  for (int k = 0; k < K; k++) {
    int i = M + k;
    int target = k < K / 2 ? (int)(stress_rand(&seed) % M) : M + k - K / 2;
    VERIFY(spool_future_add_done_callback(R->fs[target], count_callback, &R->callbacks[target]) ==
           SPOOL_OK);
    R->expect_error[i] = R->expect_error[target];
    R->expect_value[i] = R->expect_error[i] ? 0 : R->expect_value[target] + 1000;
    VERIFY(spool_submit(ex, wait_and_add, R->fs[target], &R->fs[i]) == SPOOL_OK);
  }
  for (int k = 0; k < K; k++)
    VERIFY(spool_future_add_done_callback(R->fs[M + k], count_callback, &R->callbacks[M + k]) ==
           SPOOL_OK);
  for (int i = 0; i < M; i++)
    if (i % 7 == 0)
      VERIFY(spool_future_add_done_callback(R->fs[i], count_callback, &R->callbacks[i]) ==
             SPOOL_OK);

  completer c[2] = {{0, 2, seed * 3 + 1}, {1, 2, seed * 5 + 2}};
  pthread_t t[THREADS];
  pthread_create(&t[0], NULL, complete_thread, &c[0]);
  pthread_create(&t[1], NULL, complete_thread, &c[1]);
  pthread_create(&t[2], NULL, result_thread, (void *)(uintptr_t)(seed + 11));
  pthread_create(&t[3], NULL, wait_first_thread, NULL);
  pthread_create(&t[4], NULL, as_completed_thread, NULL);
  pthread_create(&t[5], NULL, callback_thread, NULL);
  pthread_barrier_wait(&R->start);
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);

  size_t nd = 0;
  CHECK(spool_wait(R->fs, ALL, wait_limit, SPOOL_ALL_COMPLETED, &nd) == SPOOL_OK);
  /* tasks count finished after their callbacks ran */
  CHECK(spool_join(ex, wait_limit) == SPOOL_OK);
  /* Callbacks added: by the thread (1 each), by the tasks' set-up (one per
     waiting task), and every 7th created future once more. Created
     futures' callbacks run inside set_*, tasks' before join returns. */
  int expect_cb[ALL];
  for (int i = 0; i < ALL; i++)
    expect_cb[i] = 1 + (i < M && i % 7 == 0) + (i >= M);
  seed = R->seed;
  for (int k = 0; k < K; k++) {
    int target = k < K / 2 ? (int)(stress_rand(&seed) % M) : M + k - K / 2;
    expect_cb[target]++;
  }
  long wrong_outcome = 0, wrong_cb = 0;
  for (int i = 0; i < ALL; i++) {
    wrong_outcome += !outcome_ok(i);
    if (atomic_load(&R->callbacks[i]) != expect_cb[i]) {
      if (wrong_cb++ < 5)
        fprintf(stderr, "future %d: %d callback calls, expected %d\n", i,
                atomic_load(&R->callbacks[i]), expect_cb[i]);
    }
  }
  CHECKF(wrong_outcome == 0, "%ld futures with a wrong outcome", wrong_outcome);
  CHECKF(wrong_cb == 0, "%ld futures whose callbacks did not each run once", wrong_cb);
  for (int i = 0; i < ALL; i++)
    spool_future_release(R->fs[i]);
  pthread_barrier_destroy(&R->start);
  free(R);
  R = NULL;
}

int main(void) {
  wait_limit = 20.0 * watchdog_slowdown();
  spool_config c;
  spool_config_init(&c);
  c.workers = 3;
  if (!CHECK(spool_executor_create(&ex, &c) == SPOOL_OK)) return stress_report();
  long rounds = stress_budget(200);
  stress_phase("waiters, completers and tasks", 60 + (double)rounds);
  for (long r = 0; r < rounds; r++)
    one_round(0x1000 + (uint64_t)r);
  stress_phase("destroy", 30);
  spool_executor_destroy(ex);
  watchdog_disarm();
  return stress_report();
}
