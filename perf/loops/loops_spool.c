/* The loop kernels with spool_for (automatic grain), and the spool-only
   micro-benchmarks of loops, map and argument copies (loops.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "impl_spool.h"
#include "loops.h"

/* ---- the kernels ------------------------------------------------------------ */

static int stream_body(size_t lo, size_t hi, void *ctx) {
  stream_range(ctx, lo, hi);
  return 0;
}

int stream_compute_spool(void *state) {
  stream_state *s = state;
  return spool_for(bench_spool, 0, s->n, 0, stream_body, s);
}

typedef struct sweep {
  stencil_state *s;
  const double *src;
  double *dst;
} sweep;

static int stencil_body(size_t lo, size_t hi, void *ctx) {
  sweep *w = ctx;
  stencil_rows(w->s, w->src, w->dst, lo, hi);
  return 0;
}

/* All sweeps inside one task, so each loop starts on a worker. */
static int stencil_task(void *arg, void **result) {
  (void)result;
  stencil_state *s = arg;
  for (size_t t = 0; t < s->sweeps; t++) {
    sweep w = {s, s->grid[t % 2], s->grid[(t + 1) % 2]};
    int rc = spool_for(bench_spool, 1, s->n - 1, 0, stencil_body, &w);
    if (rc) return rc;
  }
  return 0;
}

int stencil_compute_spool(void *state) {
  return spool_run(bench_spool, stencil_task, state, NULL);
}

static int mandel_body(size_t lo, size_t hi, void *ctx) {
  mandel_rows(ctx, lo, hi);
  return 0;
}

int mandel_compute_spool(void *state) {
  mandel_state *s = state;
  return spool_for(bench_spool, 0, s->height, 0, mandel_body, s);
}

/* ---- shared by the micro-benchmarks ------------------------------------------ */

static const size_t micro_items[4] = {100000, 1000000, 1000000, 1000000};
static const int micro_rounds[4] = {2, 10, 20, 20};

typedef struct micro_state {
  size_t n;
  int rounds;
  double spool_ns, other_ns; /* per item, from the last compute */
  long wrong;
  double *out;
} micro_state;

static int micro_prepare(const char *size, void **state, char *err, size_t errlen) {
  micro_state *s = calloc(1, sizeof *s);
  int k = bench_size_index(size);
  if (!s || !(s->out = calloc(micro_items[k], sizeof *s->out))) {
    free(s);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->n = micro_items[k];
  s->rounds = micro_rounds[k];
  *state = s;
  return 0;
}

static void micro_release(void *state) {
  micro_state *s = state;
  if (!s) return;
  free(s->out);
  free(s);
}

static int micro_check(void *state, char *msg, size_t msglen) {
  micro_state *s = state;
  if (s->wrong) {
    snprintf(msg, msglen, "%ld wrong results", s->wrong);
    return -1;
  }
  return 0;
}

static void micro_report(micro_state *s, bench_report *r, const char *spool_metric,
                         const char *other_metric, const char *what) {
  snprintf(r->params, sizeof r->params, "%zu %s x %d", s->n, what, s->rounds);
  snprintf(r->value, sizeof r->value, "%.2f ns vs %.2f ns", s->spool_ns, s->other_ns);
  r->metrics[0].name = spool_metric;
  r->metrics[0].value = s->spool_ns;
  r->metrics[1].name = other_metric;
  r->metrics[1].value = s->other_ns;
  r->nmetrics = 2;
}

/* ---- loop_overhead ------------------------------------------------------------- */

/* The trivial body: one store per index. */
static __attribute__((noinline)) int fill_body(size_t lo, size_t hi, void *ctx) {
  double *out = ctx;
  for (size_t i = lo; i < hi; i++)
    out[i] = (double)i;
  return 0;
}

int loop_overhead_compute_spool(void *state) {
  micro_state *s = state;
  fill_body(0, s->n, s->out); /* warm the array */
  double t0 = bench_now();
  for (int r = 0; r < s->rounds; r++) {
    int rc = spool_for(bench_spool, 0, s->n, 0, fill_body, s->out);
    if (rc) return rc;
  }
  double t1 = bench_now();
  for (int r = 0; r < s->rounds; r++) {
    fill_body(0, s->n, s->out);
    __asm__ __volatile__("" ::: "memory");
  }
  double t2 = bench_now();
  double per = (double)s->n * s->rounds;
  s->other_ns = (t2 - t1) * 1e9 / per;
  /* the loop's cost per iteration above the plain call */
  s->spool_ns = (t1 - t0) * 1e9 / per - s->other_ns;
  s->wrong = 0;
  for (size_t i = 0; i < s->n; i++)
    if (s->out[i] != (double)i) s->wrong++;
  return 0;
}

static void loop_overhead_report(void *state, double median_seconds, bench_report *r) {
  (void)median_seconds;
  micro_report(state, r, "ns_per_iteration_overhead", "serial_ns_per_iteration",
               "indices, grain 0, trivial body");
}

const bench_problem loop_overhead_problem = {"loop_overhead", micro_prepare,        NULL,
                                             micro_check,     loop_overhead_report, micro_release};

/* ---- map ------------------------------------------------------------------------ */

static int echo_item(void *arg, void **result) {
  *result = arg;
  return 0;
}

int map_compute_spool(void *state) {
  micro_state *s = state;
  void **args = malloc(s->n * sizeof *args), **results = malloc(s->n * sizeof *results);
  spool_future **fs = malloc(s->n * sizeof *fs);
  if (!args || !results || !fs) {
    free(args);
    free(results);
    free(fs);
    return SPOOL_ENOMEM;
  }
  for (size_t i = 0; i < s->n; i++)
    args[i] = spool_int_result((long)i + 1);
  long wrong = 0;
  int rc = 0;
  double t0 = bench_now();
  for (int r = 0; r < s->rounds && !rc; r++)
    rc = spool_map(bench_spool, echo_item, args, s->n, results, NULL);
  double t1 = bench_now();
  for (size_t i = 0; i < s->n; i++)
    if (results[i] != args[i]) wrong++;
  /* Python's map the long way: a task (and a future) per item. */
  for (int r = 0; r < s->rounds && !rc; r++) {
    for (size_t i = 0; i < s->n && !rc; i++)
      rc = spool_submit(bench_spool, echo_item, args[i], &fs[i]);
    for (size_t i = 0; i < s->n && !rc; i++) {
      rc = spool_future_result(fs[i], SPOOL_FOREVER, &results[i]);
      spool_future_release(fs[i]);
    }
  }
  double t2 = bench_now();
  for (size_t i = 0; i < s->n; i++)
    if (results[i] != args[i]) wrong++;
  double per = (double)s->n * s->rounds;
  s->spool_ns = (t1 - t0) * 1e9 / per;
  s->other_ns = (t2 - t1) * 1e9 / per;
  s->wrong = wrong;
  free(args);
  free(results);
  free(fs);
  return rc;
}

static void map_report(void *state, double median_seconds, bench_report *r) {
  (void)median_seconds;
  micro_report(state, r, "ns_per_item_map", "ns_per_item_submit_each", "items");
}

const bench_problem map_problem = {"map",       micro_prepare, NULL,
                                   micro_check, map_report,    micro_release};

/* ---- submit_copy ------------------------------------------------------------------- */

typedef struct payload {
  uint64_t words[4]; /* 32 bytes */
} payload;

/* One padded sum per worker: a sum shared by every task would make both
   variants measure its cache line moving between the workers rather than
   the submit. */
#define SUM_SLOTS 64
static struct {
  _Atomic long v;
  char pad[64 - sizeof(long)];
} payload_sums[SUM_SLOTS];

static int take_copy(void *arg, void **result) {
  (void)result;
  const payload *p = arg;
  /* relaxed: read after spool_join(), which orders the tasks before it */
  atomic_fetch_add_explicit(&payload_sums[(unsigned)spool_current_worker() % SUM_SLOTS].v,
                            (long)p->words[3], memory_order_relaxed);
  return 0;
}

static long payload_total(void) {
  long t = 0;
  for (int i = 0; i < SUM_SLOTS; i++)
    t += atomic_load_explicit(&payload_sums[i].v, memory_order_relaxed);
  return t;
}

static int take_and_free(void *arg, void **result) {
  take_copy(arg, result);
  free(arg);
  return 0;
}

typedef struct submit_job {
  size_t n;
  bool copy;
} submit_job;

/* Submits from inside a task, so items come from the worker's free list. */
static int submit_many(void *arg, void **result) {
  (void)result;
  submit_job *j = arg;
  for (size_t i = 0; i < j->n; i++) {
    payload p = {{i, i, i, 1}};
    int rc;
    if (j->copy) {
      rc = spool_submit_copy(bench_spool, take_copy, &p, sizeof p, NULL);
    } else {
      payload *heap = malloc(sizeof *heap);
      if (!heap) return SPOOL_ENOMEM;
      *heap = p;
      rc = spool_submit(bench_spool, take_and_free, heap, NULL);
      if (rc) free(heap);
    }
    if (rc) return rc;
  }
  return 0;
}

int submit_copy_compute_spool(void *state) {
  micro_state *s = state;
  double t[3];
  for (int i = 0; i < SUM_SLOTS; i++)
    atomic_store_explicit(&payload_sums[i].v, 0, memory_order_relaxed);
  for (int k = 0; k < 2; k++) {
    submit_job j = {s->n, k == 0};
    t[k] = bench_now();
    for (int r = 0; r < s->rounds; r++) {
      int rc = spool_run(bench_spool, submit_many, &j, NULL);
      if (!rc) rc = spool_join(bench_spool, SPOOL_FOREVER);
      if (rc) return rc;
    }
  }
  t[2] = bench_now();
  double per = (double)s->n * s->rounds;
  s->spool_ns = (t[1] - t[0]) * 1e9 / per;
  s->other_ns = (t[2] - t[1]) * 1e9 / per;
  s->wrong = payload_total() != (long)(2 * s->n * (size_t)s->rounds);
  return 0;
}

static void submit_copy_report(void *state, double median_seconds, bench_report *r) {
  (void)median_seconds;
  micro_report(state, r, "ns_per_submit_copy", "ns_per_malloc_submit_free",
               "32-byte submits from a task");
}

const bench_problem submit_copy_problem = {"submit_copy", micro_prepare,      NULL,
                                           micro_check,   submit_copy_report, micro_release};
