/* The executor and futures micro-benchmarks of spool (see micro.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fib.h"
#include "impl_spool.h"
#include "micro.h"

/* A wait that takes longer than this is a hang: the process says so and
   exits, since destroying the executor would hang too. */
#define HANG_SECONDS 120.0

static void give_up_on_hang(const char *what) {
  fprintf(stderr, "%s: no completion within %.0f s: the runtime hangs\n", what, HANG_SECONDS);
  fflush(stderr);
  _exit(BENCH_EXIT_FAIL);
}

/* ---- submit_rt ---- */

static int echo_task(void *arg, void **result) {
  *result = arg;
  return 0;
}

int submit_rt_compute_spool(void *state) {
  submit_rt_state *s = state;
  long wrong = 0;
  for (long i = 1; i <= s->rounds; i++) {
    spool_future *f;
    int rc = spool_submit(bench_spool, echo_task, spool_int_result(i), &f);
    if (rc) return rc;
    void *result = NULL;
    rc = spool_future_result(f, HANG_SECONDS, &result);
    if (rc == SPOOL_ETIMEDOUT) give_up_on_hang("submit_rt");
    spool_future_release(f);
    if (rc) return rc;
    if (spool_result_int(result) != i) wrong++;
  }
  s->wrong = wrong;
  return 0;
}

/* ---- tree ---- */

static tree_state *tree_running;

static int tree_task(void *arg, void **result) {
  (void)result;
  long depth = spool_result_int(arg);
  int me = spool_current_worker();
  if (me >= 0 && (unsigned)me < tree_running->slots) tree_running->counters[me].tasks++;
  if (depth == 0) return 0;
  int rc = spool_submit(bench_spool, tree_task, spool_int_result(depth - 1), NULL);
  if (rc) return rc;
  return spool_submit(bench_spool, tree_task, spool_int_result(depth - 1), NULL);
}

int tree_compute_spool(void *state) {
  tree_running = state;
  int rc = spool_submit(bench_spool, tree_task, spool_int_result(tree_running->depth), NULL);
  if (rc) return rc;
  rc = spool_join(bench_spool, HANG_SECONDS);
  if (rc == SPOOL_ETIMEDOUT) give_up_on_hang("tree (spool_join)");
  return rc;
}

/* ---- yield_rt ---- */

static const long yield_rt_sizes[4] = {1000, 20000, 100000, 100000};

typedef struct yield_rt_state {
  long rounds;
  spool_future **ping, **pong; /* [rounds] each, created futures */
  uint64_t suspends;           /* during the last compute */
  bool suspends_known;
  _Atomic int yield_error;       /* the first error a yield returned */
  long ping_rounds, pong_rounds; /* completed by each side */
} yield_rt_state;

static void yield_rt_release_futures(yield_rt_state *s) {
  for (long i = 0; i < s->rounds; i++) {
    if (s->ping) spool_future_release(s->ping[i]);
    if (s->pong) spool_future_release(s->pong[i]);
  }
}

static void yield_rt_release(void *state) {
  yield_rt_state *s = state;
  if (!s) return;
  yield_rt_release_futures(s);
  free(s->ping);
  free(s->pong);
  free(s);
}

static int yield_rt_prepare(const char *size, void **state, char *err, size_t errlen) {
  yield_rt_state *s = calloc(1, sizeof *s);
  if (!s) goto oom;
  s->rounds = yield_rt_sizes[bench_size_index(size)];
  s->ping = calloc((size_t)s->rounds, sizeof *s->ping);
  s->pong = calloc((size_t)s->rounds, sizeof *s->pong);
  if (!s->ping || !s->pong) {
    yield_rt_release(s);
    goto oom;
  }
  *state = s;
  return 0;
oom:
  snprintf(err, errlen, "out of memory");
  return -1;
}

static void yield_rt_reset(void *state) {
  yield_rt_state *s = state;
  yield_rt_release_futures(s);
  for (long i = 0; i < s->rounds; i++) {
    if (spool_future_create(&s->ping[i]) || spool_future_create(&s->pong[i])) {
      fprintf(stderr, "yield_rt: spool_future_create failed\n");
      _exit(BENCH_EXIT_FAIL);
    }
  }
  atomic_store(&s->yield_error, 0);
  s->ping_rounds = s->pong_rounds = 0;
}

static void note_yield_error(yield_rt_state *s, int rc) {
  int none = 0;
  atomic_compare_exchange_strong(&s->yield_error, &none, rc);
}

/* Completes ping[i], then waits for pong[i]. */
static int ping_task(void *arg, void **result) {
  (void)result;
  yield_rt_state *s = arg;
  for (long i = 0; i < s->rounds; i++) {
    int rc = spool_future_set_result(s->ping[i], spool_int_result(i));
    if (rc) return rc;
    rc = spool_future_yield_until_done(s->pong[i]);
    if (rc) {
      note_yield_error(s, rc);
      /* Unblock the other side before leaving. */
      for (long j = i + 1; j < s->rounds; j++)
        spool_future_set_result(s->ping[j], NULL);
      return rc;
    }
    s->ping_rounds++;
  }
  return 0;
}

/* Waits for ping[i], then completes pong[i]. */
static int pong_task(void *arg, void **result) {
  (void)result;
  yield_rt_state *s = arg;
  for (long i = 0; i < s->rounds; i++) {
    int rc = spool_future_yield_until_done(s->ping[i]);
    if (rc) {
      note_yield_error(s, rc);
      for (long j = i; j < s->rounds; j++)
        spool_future_set_result(s->pong[j], NULL);
      return rc;
    }
    rc = spool_future_set_result(s->pong[i], spool_int_result(i));
    if (rc) return rc;
    s->pong_rounds++;
  }
  return 0;
}

static uint64_t total_suspends(bool *known) {
  spool_stats stats;
  *known = spool_stats_read(bench_spool, -1, &stats) == 0;
  return *known ? stats.suspends : 0;
}

int yield_rt_compute_spool(void *state) {
  yield_rt_state *s = state;
  bool known_before, known_after;
  uint64_t before = total_suspends(&known_before);
  spool_future *ping, *pong;
  int rc = spool_submit(bench_spool, ping_task, s, &ping);
  if (rc) return rc;
  rc = spool_submit(bench_spool, pong_task, s, &pong);
  if (rc) {
    /* The ping side would wait for pong[0] forever: cancel or drain it. */
    for (long i = 0; i < s->rounds; i++)
      spool_future_set_result(s->pong[i], NULL);
    spool_future_result(ping, HANG_SECONDS, NULL);
    spool_future_release(ping);
    return rc;
  }
  int rc_ping = spool_future_result(ping, HANG_SECONDS, NULL);
  int rc_pong = spool_future_result(pong, HANG_SECONDS, NULL);
  if (rc_ping == SPOOL_ETIMEDOUT || rc_pong == SPOOL_ETIMEDOUT) give_up_on_hang("yield_rt");
  spool_future_release(ping);
  spool_future_release(pong);
  int yield_error = atomic_load(&s->yield_error);
  if (yield_error) {
    char why[BENCH_TEXT];
    snprintf(why, sizeof why, "spool_future_yield_until_done returned %d (%s)", yield_error,
             spool_strerror(yield_error));
    bench_set_unsupported(why);
    return BENCH_UNSUPPORTED;
  }
  if (rc_ping) return rc_ping;
  if (rc_pong) return rc_pong;
  s->suspends = total_suspends(&known_after) - before;
  s->suspends_known = known_before && known_after;
  if (s->suspends_known && s->suspends == 0) {
    bench_set_unsupported("spool_future_yield_until_done never suspended (it blocked its "
                          "worker): no suspend/resume to measure");
    return BENCH_UNSUPPORTED;
  }
  return 0;
}

static int yield_rt_check(void *state, char *msg, size_t msglen) {
  yield_rt_state *s = state;
  for (long i = 0; i < s->rounds; i++) {
    void *v = NULL;
    if (!spool_future_done(s->ping[i]) || !spool_future_done(s->pong[i]) ||
        spool_future_result(s->pong[i], 0, &v) != 0 || spool_result_int(v) != i) {
      snprintf(msg, msglen, "round %ld: pong future not done with its value", i);
      return -1;
    }
  }
  if (s->ping_rounds != s->rounds || s->pong_rounds != s->rounds) {
    snprintf(msg, msglen, "ping did %ld and pong %ld of %ld rounds", s->ping_rounds, s->pong_rounds,
             s->rounds);
    return -1;
  }
  return 0;
}

static void yield_rt_report(void *state, double median_seconds, bench_report *r) {
  yield_rt_state *s = state;
  snprintf(r->params, sizeof r->params, "%ld rounds, 2 tasks", s->rounds);
  if (s->suspends_known)
    snprintf(r->value, sizeof r->value, "%llu suspends in the last run",
             (unsigned long long)s->suspends);
  else
    snprintf(r->value, sizeof r->value, "suspends unknown (spool_stats_read failed)");
  /* A round: each task yields once (suspend + resume). */
  r->metrics[0].name = "ns_per_roundtrip";
  r->metrics[0].value = median_seconds * 1e9 / (double)s->rounds;
  r->metrics[1].name = "ns_per_yield";
  r->metrics[1].value = median_seconds * 1e9 / (2.0 * (double)s->rounds);
  r->nmetrics = 2;
}

const bench_problem yield_rt_problem = {
    .name = "yield_rt",
    .prepare = yield_rt_prepare,
    .reset = yield_rt_reset,
    .check = yield_rt_check,
    .report = yield_rt_report,
    .release = yield_rt_release,
};

/* ---- fib_yield / fib_block ---- */

static _Atomic int fib_yield_error;

static int fib_yield_task(void *arg, void **result);
static int fib_block_task(void *arg, void **result);

/* fib(n): submit fib(n-1), compute fib(n-2) here, then wait for the
   future, cooperatively (`yield`) or blocking. */
static int fib_submit(long n, bool yield, void **result) {
  if (n < 2) {
    *result = spool_int_result(n);
    return 0;
  }
  spool_future *f;
  int rc = spool_submit(bench_spool, yield ? fib_yield_task : fib_block_task,
                        spool_int_result(n - 1), &f);
  if (rc) return rc;
  void *right = NULL, *left = NULL;
  rc = fib_submit(n - 2, yield, &right);
  if (yield) {
    int rc_yield = spool_future_yield_until_done(f);
    if (rc_yield) {
      int none = 0;
      atomic_compare_exchange_strong(&fib_yield_error, &none, rc_yield);
    }
  }
  int rc_left = spool_future_result(f, SPOOL_FOREVER, &left);
  spool_future_release(f);
  if (rc_left) return rc_left;
  if (rc) return rc;
  *result = spool_int_result(spool_result_int(left) + spool_result_int(right));
  return 0;
}

static int fib_yield_task(void *arg, void **result) {
  return fib_submit(spool_result_int(arg), true, result);
}

static int fib_block_task(void *arg, void **result) {
  return fib_submit(spool_result_int(arg), false, result);
}

static int fib_submit_compute(fib_state *s, spool_fn root) {
  atomic_store(&fib_yield_error, 0);
  void *result = NULL;
  int rc = spool_run(bench_spool, root, spool_int_result(s->n), &result);
  int yield_error = atomic_load(&fib_yield_error);
  if (yield_error) {
    char why[BENCH_TEXT];
    snprintf(why, sizeof why, "spool_future_yield_until_done returned %d (%s)", yield_error,
             spool_strerror(yield_error));
    bench_set_unsupported(why);
    return BENCH_UNSUPPORTED;
  }
  s->result = spool_result_int(result);
  return rc;
}

int fib_yield_compute_spool(void *state) {
  return fib_submit_compute(state, fib_yield_task);
}

int fib_block_compute_spool(void *state) {
  return fib_submit_compute(state, fib_block_task);
}
