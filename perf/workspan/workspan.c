/* perf_workspan: a work-span analysis of spool's fork-join kernels, in the
 * manner of OpenCilk's Cilkscale, and the speed-up it predicts past the
 * cores this machine has.
 *
 * For each kernel (fib, nqueens, queens, uts, integrate) one process
 * measures, in alternated samples (each time the least of runs back to
 * back after an untimed one, see timed()):
 *
 *   T_s  the serial version (the suite's serial leaves);
 *   T_1  spool's version on a 1-worker executor;
 *   T_2  the same on a 2-worker executor (or --workers N), and the steals
 *        it made (spool_stats);
 *   W, S the work and the span of the same fork-join computation, run by
 *        spool on one worker with every fork and sync instrumented: each
 *        strand (the code between two fork/sync points) is timed with the
 *        cycle counter; a task's span is the longest path through its
 *        strands, where a sync joins the continuation's path with the
 *        forked child's (path at the fork + the child's span); and the
 *        forks that lie on the critical path are counted.
 *
 * The model (all in seconds of spool's own 1-worker run):
 *
 *   parallelism     P  = W / S
 *   span            S' = T_1 / P        (instrumentation overhead cancels)
 *   per-steal cost  c  = (p T_p - T_1) / steals_p, the extra worker time a
 *                   steal costs at p workers (0 if the run was faster)
 *   burdened span   S_b = S' + c * forks on the critical path (each could
 *                   be a steal: Cilkscale's "burden")
 *   burdened parallelism T_1 / S_b
 *   predicted time  T(q) = T_1 / q + S_b (1 - 1/q)   (the greedy scheduler's
 *                   bound T_1/q + S_b, exact at q = 1)
 *   predicted speed-up over serial   T_s / T(q), for q = 1, 2, 4, 16, 64, 256
 *
 * and the measured speed-ups T_s / T_1 and T_s / T_p beside the prediction
 * for p, which the model must match (within 10 % is the goal).
 *
 * c from the totals charges to the steals every slowdown of the p-worker
 * runs, and this VM's speed varies from moment to moment. So with
 * WORKSPAN_TRACE=path (perf/workspan/report.py sets it) the first samples
 * also run on a traced p-worker executor, and the report computes the
 * model a second time with c measured directly: the median time a thief
 * searched before a steal (perf/trace_summary.py, steal_searches), and
 * the least of the samples for T_s, T_1 and T_p.
 *
 * The instrumented kernels fork exactly where the spool kernels of perf/
 * do (same structure, same cutoffs); they call the instrumentation around
 * spool_fork and spool_sync, so the measured DAG is the one spool ran. */
#include <spool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "bench.h"
#include "fib.h"
#include "impl_spool.h"
#include "integrate.h"
#include "nqueens.h"
#include "queens.h"
#include "uts.h"

spool_executor *bench_spool;
static spool_executor *ex_one, *ex_many;
static unsigned many_workers = 2;
/* With WORKSPAN_TRACE=path: a p-worker executor that traces to path, run
   for the first TRACED_SAMPLES samples. perf/workspan/report.py reads the
   trace for a direct measurement of what a steal costs the thief. */
static spool_executor *ex_traced;
enum { TRACED_SAMPLES = 8 };

/* ---- Instrumentation ------------------------------------------------------
 *
 * Runs on one worker only, so plain globals suffice: the whole computation
 * is on the worker's thread, and spool_run orders it with main. */

static inline uint64_t ws_now(void) {
#if defined(__x86_64__)
  return __rdtsc();
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

typedef struct ws_ctx {
  uint64_t span;   /* longest path from the task's start to now */
  uint64_t spawns; /* forks on that path */
} ws_ctx;

static ws_ctx *ws_cur;
static uint64_t ws_work, ws_last;
/* A strand longer than this was preempted (no strand of these kernels
   comes near it): it counts as this long, or one time slice lost to another
   process would become the critical path. Set from the tick rate at start. */
static uint64_t ws_strand_cap = UINT64_MAX;
#define WS_STRAND_CAP_SECONDS 100e-6

static void ws_calibrate(void) {
  double t0 = bench_now();
  uint64_t c0 = ws_now();
  while (bench_now() - t0 < 0.01) {
  }
  double ticks_per_second = (double)(ws_now() - c0) / (bench_now() - t0);
  ws_strand_cap = (uint64_t)(ticks_per_second * WS_STRAND_CAP_SECONDS);
}

static inline void ws_charge(void) {
  uint64_t t = ws_now(), d = t - ws_last;
  if (d > ws_strand_cap) d = ws_strand_cap;
  ws_work += d;
  ws_cur->span += d;
  ws_last = t;
}

typedef struct ws_frame {
  spool_task task;
  spool_fn fn;
  void *arg;
  uint64_t span_at_fork, spawns_at_fork, child_span, child_spawns;
} ws_frame;

static int ws_child(void *arg, void **result) {
  ws_frame *f = arg;
  ws_ctx *parent = ws_cur, me = {0, 0};
  ws_cur = &me;
  int rc = f->fn(f->arg, result);
  ws_charge();
  f->child_span = me.span;
  f->child_spawns = me.spawns;
  ws_cur = parent;
  return rc;
}

static void ws_fork(ws_frame *f, spool_fn fn, void *arg) {
  ws_charge();
  f->fn = fn;
  f->arg = arg;
  f->span_at_fork = ws_cur->span;
  f->spawns_at_fork = ws_cur->spawns;
  spool_fork(&f->task, ws_child, f);
}

static int ws_sync(ws_frame *f, void **result) {
  ws_charge();
  int rc = spool_sync(&f->task, result); /* one worker: the child runs here */
  ws_charge();                           /* the sync's return, on the parent's path */
  uint64_t via_child = f->span_at_fork + f->child_span;
  if (via_child > ws_cur->span) {
    ws_cur->span = via_child;
    ws_cur->spawns = f->spawns_at_fork + 1 + f->child_spawns;
  }
  return rc;
}

typedef struct ws_root {
  spool_fn fn;
  void *arg;
  ws_ctx ctx;
} ws_root;

static int ws_root_task(void *arg, void **result) {
  ws_root *r = arg;
  ws_cur = &r->ctx;
  ws_work = 0;
  ws_last = ws_now();
  int rc = r->fn(r->arg, result);
  ws_charge();
  return rc;
}

/* ---- The instrumented kernels (as perf/<kernel>/<kernel>_spool.c) -------- */

static int ws_fib_task(void *arg, void **result);
static long ws_fib(long n) {
  if (n < 2) return n;
  ws_frame frame;
  ws_fork(&frame, ws_fib_task, spool_int_result(n - 1));
  long right = ws_fib(n - 2);
  void *left;
  if (ws_sync(&frame, &left) != 0) return -1;
  return spool_result_int(left) + right;
}
static int ws_fib_task(void *arg, void **result) {
  *result = spool_int_result(ws_fib(spool_result_int(arg)));
  return 0;
}

typedef struct placement {
  int n, row;
  uint32_t cols, left, right;
  long count;
} placement;
static int ws_place(void *arg, void **result) {
  (void)result;
  placement *p = arg;
  if (p->row == p->n) {
    p->count = 1;
    return 0;
  }
  placement next[NQUEENS_MAX];
  ws_frame frames[NQUEENS_MAX];
  int forked = 0;
  for (uint32_t avail = nqueens_free(p->n, p->cols, p->left, p->right); avail; avail &= avail - 1) {
    uint32_t bit = avail & -avail;
    next[forked] = (placement){
        p->n, p->row + 1, p->cols | bit, (p->left | bit) << 1, (p->right | bit) >> 1, 0};
    ws_fork(&frames[forked], ws_place, &next[forked]);
    forked++;
  }
  long count = 0;
  int rc = 0;
  while (forked-- > 0) {
    int rc_child = ws_sync(&frames[forked], NULL);
    if (rc_child && !rc) rc = rc_child;
    count += next[forked].count;
  }
  p->count = count;
  return rc;
}

typedef struct queens_arg {
  int n, row;
  const char *board;
  long count;
} queens_arg;
static int ws_queens(void *arg, void **result) {
  (void)result;
  queens_arg *q = arg;
  if (q->row == q->n) {
    q->count = 1;
    return 0;
  }
  char boards[QUEENS_MAX][QUEENS_MAX];
  queens_arg next[QUEENS_MAX];
  ws_frame frames[QUEENS_MAX];
  int forked = 0;
  for (int col = 0; col < q->n; col++) {
    if (!queens_extend(boards[forked], q->board, q->row, col)) continue;
    next[forked] = (queens_arg){q->n, q->row + 1, boards[forked], 0};
    ws_fork(&frames[forked], ws_queens, &next[forked]);
    forked++;
  }
  long count = 0;
  int rc = 0;
  while (forked-- > 0) {
    int rc_child = ws_sync(&frames[forked], NULL);
    if (rc_child && !rc) rc = rc_child;
    count += next[forked].count;
  }
  q->count = count;
  return rc;
}

typedef struct visit {
  const uts_tree *tree;
  const uts_node *parent;
  int index;
  long count;
} visit;
static int ws_visit(void *arg, void **result) {
  (void)result;
  visit *v = arg;
  uts_node node;
  if (v->parent)
    uts_child(v->parent, v->index, &node);
  else
    uts_root(v->tree, &node);
  int children = uts_children(v->tree, &node);
  long count = 1;
  int rc = 0;
  if (children > 0) {
    visit next[UTS_MAX_CHILDREN];
    ws_frame frames[UTS_MAX_CHILDREN];
    for (int i = 0; i < children; i++) {
      next[i] = (visit){v->tree, &node, i, 0};
      ws_fork(&frames[i], ws_visit, &next[i]);
    }
    for (int i = children - 1; i >= 0; i--) {
      int rc_child = ws_sync(&frames[i], NULL);
      if (rc_child && !rc) rc = rc_child;
      count += next[i].count;
    }
  }
  v->count = count;
  return rc;
}

typedef struct interval {
  double x1, y1, x2, y2, whole, epsilon;
  double result;
} interval;
static int ws_interval(void *arg, void **unused) {
  (void)unused;
  interval *i = arg;
  double x0, y0, left, right;
  if (integrate_split(i->x1, i->y1, i->x2, i->y2, i->whole, i->epsilon, &x0, &y0, &left, &right)) {
    i->result = left + right;
    return 0;
  }
  interval l = {i->x1, i->y1, x0, y0, left, i->epsilon, 0};
  interval r = {x0, y0, i->x2, i->y2, right, i->epsilon, 0};
  ws_frame frame;
  ws_fork(&frame, ws_interval, &l);
  int rc = ws_interval(&r, NULL);
  int rc_left = ws_sync(&frame, NULL);
  i->result = l.result + r.result;
  return rc_left ? rc_left : rc;
}

/* Runs kernel `k` instrumented on the 1-worker executor; fills the state's
   result as the spool compute does. */
static int ws_run(const char *k, void *state, ws_ctx *out, uint64_t *work) {
  ws_root root = {0};
  void *value = NULL;
  int rc;
  if (!strcmp(k, "fib")) {
    fib_state *s = state;
    root = (ws_root){ws_fib_task, spool_int_result(s->n), {0, 0}};
    rc = spool_run(ex_one, ws_root_task, &root, &value);
    s->result = spool_result_int(value);
  } else if (!strcmp(k, "nqueens")) {
    nqueens_state *s = state;
    placement p = {s->n, 0, 0, 0, 0, 0};
    root = (ws_root){ws_place, &p, {0, 0}};
    rc = spool_run(ex_one, ws_root_task, &root, NULL);
    s->result = p.count;
  } else if (!strcmp(k, "queens")) {
    queens_state *s = state;
    queens_arg q = {s->n, 0, "", 0};
    root = (ws_root){ws_queens, &q, {0, 0}};
    rc = spool_run(ex_one, ws_root_task, &root, NULL);
    s->result = q.count;
  } else if (!strcmp(k, "uts")) {
    uts_state *s = state;
    visit v = {s->tree, NULL, 0, 0};
    root = (ws_root){ws_visit, &v, {0, 0}};
    rc = spool_run(ex_one, ws_root_task, &root, NULL);
    s->result = v.count;
  } else {
    integrate_state *s = state;
    double y1 = integrand(s->lo), y2 = integrand(s->hi);
    interval i = {s->lo, y1, s->hi, y2, (y1 + y2) / 2 * (s->hi - s->lo), s->epsilon, 0};
    root = (ws_root){ws_interval, &i, {0, 0}};
    rc = spool_run(ex_one, ws_root_task, &root, NULL);
    s->result = i.result;
  }
  *out = root.ctx;
  *work = ws_work;
  return rc;
}

/* ---- The kernels as the harness sees them --------------------------------
 *
 * A sample measures each quantity once, in an order that rotates from
 * sample to sample; the report takes the medians (times) and the least
 * (work and span). */

#define SAMPLES 64

typedef struct analysis {
  const bench_problem *inner;
  void *state;
  int (*serial)(void *), (*spool)(void *);
  int n;
  double ts[SAMPLES], t1[SAMPLES], tp[SAMPLES], steals[SAMPLES];
  double work[SAMPLES], span[SAMPLES], spawns[SAMPLES];
  double forks;
  int traced_runs;      /* timed runs on ex_traced */
  double traced_steals; /* steals per run there (spool_stats), summed */
  /* Each traced run's start and duration (CLOCK_MONOTONIC seconds): the
     report reads the trace inside these windows only. */
  double traced_windows[TRACED_SAMPLES][2];
} analysis;

static const char *kernel_name(const analysis *a) {
  return a->inner->name;
}

static int checked(analysis *a, int rc) {
  char msg[2 * BENCH_TEXT];
  if (rc != 0) return rc;
  if (a->inner->check(a->state, msg, sizeof msg) != 0) {
    fprintf(stderr, "perf_workspan: %s: %s\n", kernel_name(a), msg);
    return -1;
  }
  return 0;
}

/* The least time of a few computes run back to back, after an untimed
   one: on this VM the first run after the workers slept runs 0.5-1.2 ms
   slower (more the longer they slept, with or without binding), a cost per
   run that the model does not describe and that would fall on every
   p-worker sample; and its speed varies from one moment to the next, so
   the least of several runs (at least RUN_BUDGET_SECONDS of them) comes
   nearer the undisturbed machine than one run does. The same for T_s, T_1
   and T_p. With `started`, the last run is the one timed alone and its
   start is stored (CLOCK_MONOTONIC seconds, the clock of the trace's
   epoch): the traced runs are read in the trace by their windows. With
   `ex`, *steals receives the steals per timed run on it (spool_stats; the
   warm-up's left out, as its time is). */
#define RUN_BUDGET_SECONDS 0.05
static double timed(analysis *a, int (*compute)(void *), int *rc, double *started,
                    spool_executor *ex, double *steals) {
  double least = 0, spent = 0;
  int runs = 0;
  spool_stats before = {0}, after = {0};
  for (int run = 0; !*rc && (run < 2 || (!started && spent < RUN_BUDGET_SECONDS)); run++) {
    if (run == 1 && ex) spool_stats_read(ex, -1, &before);
    if (a->inner->reset) a->inner->reset(a->state);
    double t0 = bench_now();
    int r = compute(a->state);
    double t = bench_now() - t0;
    *rc = checked(a, r);
    if (run == 0) continue; /* the warm-up */
    runs++;
    spent += t;
    if (started) *started = t0;
    if (run == 1 || t < least) least = t;
  }
  if (ex) {
    spool_stats_read(ex, -1, &after);
    *steals = runs ? (double)(after.steals_won - before.steals_won) / runs : 0;
  }
  return least;
}

/* One sample of each quantity. */
static int analysis_sample(analysis *a) {
  int i = a->n, rc = 0;
  int steps = ex_traced && i < TRACED_SAMPLES ? 5 : 4;
  for (int step = 0; step < steps && !rc; step++) {
    switch ((step + i) % steps) {
    case 0:
      a->ts[i] = timed(a, a->serial, &rc, NULL, NULL, NULL);
      break;
    case 1:
      bench_spool = ex_one;
      a->t1[i] = timed(a, a->spool, &rc, NULL, NULL, NULL);
      break;
    case 2:
      bench_spool = ex_many;
      a->tp[i] = timed(a, a->spool, &rc, NULL, ex_many, &a->steals[i]);
      break;
    case 4: {
      bench_spool = ex_traced;
      double *window = a->traced_windows[a->traced_runs], steals = 0;
      window[1] = timed(a, a->spool, &rc, &window[0], ex_traced, &steals);
      a->traced_steals += steals;
      a->traced_runs++;
      break;
    }
    default: {
      ws_ctx ctx;
      uint64_t work;
      spool_stats before, after;
      spool_stats_read(ex_one, -1, &before);
      if (a->inner->reset) a->inner->reset(a->state);
      rc = checked(a, ws_run(kernel_name(a), a->state, &ctx, &work));
      spool_stats_read(ex_one, -1, &after);
      a->work[i] = (double)work;
      a->span[i] = (double)ctx.span;
      a->spawns[i] = (double)ctx.spawns;
      a->forks = (double)(after.forks - before.forks);
    }
    }
  }
  if (!rc) a->n++;
  return rc;
}

/* The harness's time budget allows only a few calls at full size; the
   least-of estimates of the report need more, so the first call takes
   MIN_SAMPLES samples and each later call one more, up to SAMPLES. */
enum { MIN_SAMPLES = 15 };
static int analysis_compute(void *state) {
  analysis *a = state;
  int rc = 0;
  do {
    if (a->n == SAMPLES) return 0; /* enough: further calls are the harness's */
    rc = analysis_sample(a);
  } while (!rc && a->n < MIN_SAMPLES);
  return rc;
}

static double median_of(const double *v, int n) {
  double copy[SAMPLES];
  memcpy(copy, v, sizeof copy[0] * (size_t)n);
  return bench_median(copy, (size_t)n);
}

static double least_of(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++)
    if (v[i] < m) m = v[i];
  return m;
}

static void add(bench_report *r, const char *name, double value) {
  if (r->nmetrics < BENCH_MAX_METRICS) {
    r->metrics[r->nmetrics].name = name;
    r->metrics[r->nmetrics].value = value;
    r->nmetrics++;
  }
}

/* T(q) = T_1 / q + S_b (1 - 1/q): the greedy bound T_1/q + S_b, but exact
   at one worker (where nothing is stolen and the span costs nothing more). */
static double predicted_time(double t1, double burdened_span, double q) {
  return t1 / q + burdened_span * (1 - 1 / q);
}

static void analysis_report(void *state, double median_seconds, bench_report *r) {
  (void)median_seconds;
  analysis *a = state;
  int n = a->n;
  double ts = median_of(a->ts, n), t1 = median_of(a->t1, n), tp = median_of(a->tp, n);
  /* Work and span: the least of the samples (a preempted strand only
     lengthens them; capped strands bound that, the minimum removes the
     rest). Times: medians. */
  double steals = median_of(a->steals, n), work = least_of(a->work, n);
  double span = least_of(a->span, n), spawns = median_of(a->spawns, n);
  double parallelism = span > 0 ? work / span : 0;
  double span_s = parallelism > 0 ? t1 / parallelism : t1;
  double p = many_workers;
  double steal_cost = steals > 0 ? (p * tp - t1) / steals : 0;
  if (steal_cost < 0) steal_cost = 0;
  double burdened = span_s + steal_cost * spawns;
  bench_report inner = {.params = "", .value = ""};
  a->inner->report(a->state, t1, &inner);
  snprintf(r->params, sizeof r->params, "%s", inner.params);
  snprintf(r->value, sizeof r->value, "%s", inner.value);
  /* The whole analysis, for the report script (perf/workspan/report.py). */
  printf("WORKSPAN {\"kernel\":\"%s\",\"params\":\"%s\",\"samples\":%d,\"workers\":%u,"
         "\"serial_s\":%.9g,\"spool_1_s\":%.9g,\"spool_p_s\":%.9g,\"steals_p\":%.9g,"
         "\"work_ticks\":%.9g,\"span_ticks\":%.9g,\"forks\":%.9g,\"span_forks\":%.9g,"
         "\"parallelism\":%.9g,\"span_s\":%.9g,\"steal_cost_s\":%.9g,\"burdened_span_s\":%.9g,"
         "\"burdened_parallelism\":%.9g,\"predicted_speedup\":{",
         kernel_name(a), inner.params, n, many_workers, ts, t1, tp, steals, work, span, a->forks,
         spawns, parallelism, span_s, steal_cost, burdened, burdened > 0 ? t1 / burdened : 0);
  const unsigned qs[] = {1, 2, 4, 16, 64, 256};
  for (int k = 0; k < 6; k++)
    printf("%s\"%u\":%.6g", k ? "," : "", qs[k], ts / predicted_time(t1, burdened, qs[k]));
  printf("},\"predicted_speedup_p\":%.6g,\"measured_speedup_1\":%.6g,"
         "\"measured_speedup_p\":%.6g,\"traced_runs\":%d,\"traced_steals\":%.9g,"
         "\"serial_least_s\":%.9g,\"spool_1_least_s\":%.9g,\"spool_p_least_s\":%.9g,"
         "\"traced_windows_s\":[",
         ts / predicted_time(t1, burdened, p), ts / t1, ts / tp, a->traced_runs, a->traced_steals,
         least_of(a->ts, n), least_of(a->t1, n), least_of(a->tp, n));
  for (int k = 0; k < a->traced_runs; k++)
    printf("%s[%.9f,%.9f]", k ? "," : "", a->traced_windows[k][0], a->traced_windows[k][1]);
  printf("]}\n");
  add(r, "parallelism", parallelism);
  add(r, "burdened_parallelism", burdened > 0 ? t1 / burdened : 0);
  add(r, "predicted_speedup_16", ts / predicted_time(t1, burdened, 16));
  add(r, "measured_speedup_p", ts / tp);
  add(r, "predicted_speedup_p", ts / predicted_time(t1, burdened, p));
}

#define ANALYSIS(kernel)                                                                           \
  static int kernel##_ws_prepare(const char *size, void **state, char *err, size_t errlen) {       \
    analysis *a = calloc(1, sizeof *a);                                                            \
    if (!a) return snprintf(err, errlen, "out of memory"), -1;                                     \
    a->inner = &kernel##_problem;                                                                  \
    a->serial = kernel##_compute_serial;                                                           \
    a->spool = kernel##_compute_spool;                                                             \
    int rc = a->inner->prepare(size, &a->state, err, errlen);                                      \
    if (rc)                                                                                        \
      free(a);                                                                                     \
    else                                                                                           \
      *state = a;                                                                                  \
    return rc;                                                                                     \
  }                                                                                                \
  static const bench_problem kernel##_ws_problem = {                                               \
      .name = #kernel,                                                                             \
      .prepare = kernel##_ws_prepare,                                                              \
      .check = analysis_check,                                                                     \
      .report = analysis_report,                                                                   \
      .release = analysis_release,                                                                 \
  };

static int analysis_check(void *state, char *msg, size_t len) {
  analysis *a = state;
  return a->inner->check(a->state, msg, len);
}

static void analysis_release(void *state) {
  analysis *a = state;
  a->inner->release(a->state);
  free(a);
}

ANALYSIS(fib)
ANALYSIS(nqueens)
ANALYSIS(queens)
ANALYSIS(uts)
ANALYSIS(integrate)

static int workspan_start(unsigned workers, char *err, size_t errlen) {
  if (workers >= 2) many_workers = workers;
  ws_calibrate();
  spool_config c;
  spool_config_init(&c);
  c.workers = 1;
  int rc = spool_executor_create(&ex_one, &c);
  if (!rc) {
    c.workers = many_workers;
    rc = spool_executor_create(&ex_many, &c);
    if (rc) spool_executor_destroy(ex_one);
  }
  const char *trace = getenv("WORKSPAN_TRACE");
  if (!rc && trace && *trace) {
    c.trace_path = trace;
    rc = spool_executor_create(&ex_traced, &c);
    if (rc) {
      spool_executor_destroy(ex_one);
      spool_executor_destroy(ex_many);
    }
  }
  if (rc) snprintf(err, errlen, "spool_executor_create: %s", spool_strerror(rc));
  return rc;
}

static void workspan_stop(void) {
  spool_executor_destroy(ex_one);
  spool_executor_destroy(ex_many);
  spool_executor_destroy(ex_traced); /* writes the trace */
}

static const char *workspan_version(void) {
  return "spool work-span analysis";
}

static const bench_kernel workspan_kernels[] = {
    {&fib_ws_problem, analysis_compute},       {&nqueens_ws_problem, analysis_compute},
    {&queens_ws_problem, analysis_compute},    {&uts_ws_problem, analysis_compute},
    {&integrate_ws_problem, analysis_compute}, {NULL, NULL},
};

const bench_impl bench_this_impl = {
    .name = "workspan",
    .start = workspan_start,
    .stop = workspan_stop,
    .strerror = spool_strerror,
    .version = workspan_version,
    .kernels = workspan_kernels,
};
