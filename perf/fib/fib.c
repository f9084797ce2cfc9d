/* fib: inputs, checks and the serial versions (see fib.h). */
#include "fib.h"

#include <stdio.h>
#include <stdlib.h>

/* fib(32) is issue 5's size for the per-spawn cost and 1 vs 2 workers;
   fib(40) is its 16-core scaling size; fib(27) issue 5's yield benchmark. */
static const int fib_sizes[4] = {20, 30, 32, 40};
static const int spawn_sizes[4] = {20, 30, 32, 32};
static const int fib_submit_sizes[4] = {15, 27, 27, 27};

static long fib_iterative(int n) {
  long a = 0, b = 1;
  for (int i = 0; i < n; i++) {
    long t = a + b;
    a = b;
    b = t;
  }
  return a;
}

long fib_forks(int n) {
  return n < 1 ? 0 : fib_iterative(n + 1) - 1;
}

__attribute__((noinline)) long fib_serial(int n) {
  if (n < 2) return n;
  return fib_serial(n - 1) + fib_serial(n - 2);
}

static int fib_shaped_task(void *arg, void **result);

/* fib_spool.c's recursion with each fork+sync replaced by a direct call of
   the forked spool_fn, both noinline. */
__attribute__((noinline)) long fib_shaped(long n) {
  if (n < 2) return n;
  long right = fib_shaped(n - 2);
  void *left;
  if (fib_shaped_task((void *)(intptr_t)(n - 1), &left) != 0) return -1;
  return (long)(intptr_t)left + right;
}

__attribute__((noinline)) static int fib_shaped_task(void *arg, void **result) {
  *result = (void *)(intptr_t)fib_shaped((long)(intptr_t)arg);
  return 0;
}

long fib_serial_plain(int n) {
  if (n < 2) return n;
  return fib_serial_plain(n - 1) + fib_serial_plain(n - 2);
}

static int prepare_with(const int *sizes, const char *size, void **state, char *err,
                        size_t errlen) {
  fib_state *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->n = sizes[bench_size_index(size)];
  s->expected = fib_iterative(s->n);
  *state = s;
  return 0;
}

static int fib_prepare(const char *size, void **state, char *err, size_t errlen) {
  return prepare_with(fib_sizes, size, state, err, errlen);
}

static int spawn_prepare(const char *size, void **state, char *err, size_t errlen) {
  return prepare_with(spawn_sizes, size, state, err, errlen);
}

static int fib_submit_prepare(const char *size, void **state, char *err, size_t errlen) {
  return prepare_with(fib_submit_sizes, size, state, err, errlen);
}

static int fib_check(void *state, char *msg, size_t msglen) {
  fib_state *s = state;
  if (s->result == s->expected) return 0;
  snprintf(msg, msglen, "fib(%d) = %ld, expected %ld", s->n, s->result, s->expected);
  return -1;
}

static void fib_report(void *state, double median_seconds, bench_report *r) {
  fib_state *s = state;
  snprintf(r->params, sizeof r->params, "n=%d", s->n);
  snprintf(r->value, sizeof r->value, "%ld", s->result);
  r->metrics[0].name = "ns_per_fork";
  r->metrics[0].value = median_seconds * 1e9 / (double)fib_forks(s->n);
  r->nmetrics = 1;
}

static void fib_submit_report(void *state, double median_seconds, bench_report *r) {
  fib_state *s = state;
  long tasks = fib_forks(s->n);
  snprintf(r->params, sizeof r->params, "fib(%d), %ld tasks", s->n, tasks);
  snprintf(r->value, sizeof r->value, "%ld", s->result);
  r->metrics[0].name = "ns_per_task";
  r->metrics[0].value = median_seconds * 1e9 / (double)tasks;
  r->nmetrics = 1;
}

static void fib_release(void *state) {
  free(state);
}

int fib_compute_serial(void *state) {
  fib_state *s = state;
  s->result = fib_serial(s->n);
  return 0;
}

int fib_compute_serial_plain(void *state) {
  fib_state *s = state;
  s->result = fib_serial_plain(s->n);
  return 0;
}

/* Before each timed parallel run, the serial one, timed here, so that both
   are measured in the same process, alternately. */
static void spawn_reset(void *state) {
  fib_state *s = state;
  double t0 = bench_now();
  long v = fib_serial(s->n);
  double t = bench_now() - t0;
  bench_consume((uint64_t)v);
  t0 = bench_now();
  long shaped = fib_shaped(s->n);
  double t_shaped = bench_now() - t0;
  bench_consume((uint64_t)shaped);
  if (s->nserial < (int)(sizeof s->serial_seconds / sizeof s->serial_seconds[0])) {
    s->serial_seconds[s->nserial] = t;
    s->shaped_seconds[s->nserial++] = t_shaped;
  }
}

static void spawn_report(void *state, double median_seconds, bench_report *r) {
  fib_state *s = state;
  /* The first serial run belongs to the warm-up, like the first parallel
     one (dropped by the harness when it was short). */
  int skip = s->nserial > 1 ? 1 : 0;
  double serial = bench_median(s->serial_seconds + skip, (size_t)(s->nserial - skip));
  double shaped = bench_median(s->shaped_seconds + skip, (size_t)(s->nserial - skip));
  snprintf(r->params, sizeof r->params, "fib(%d), %ld forks", s->n, fib_forks(s->n));
  snprintf(r->value, sizeof r->value, "%ld", s->result);
  r->metrics[0].name = "ns_per_spawn";
  r->metrics[0].value = (median_seconds - serial) * 1e9 / (double)fib_forks(s->n);
  r->metrics[1].name = "serial_seconds";
  r->metrics[1].value = serial;
  r->metrics[2].name = "ratio_to_serial";
  r->metrics[2].value = median_seconds / serial;
  /* The same against the spool_fn-shaped serial function: fork and sync
     alone, without the cost of the calling convention. */
  r->metrics[3].name = "shaped_seconds";
  r->metrics[3].value = shaped;
  r->metrics[4].name = "ns_per_spawn_vs_shaped";
  r->metrics[4].value = (median_seconds - shaped) * 1e9 / (double)fib_forks(s->n);
  r->nmetrics = 5;
}

const bench_problem fib_problem = {
    .name = "fib",
    .prepare = fib_prepare,
    .check = fib_check,
    .report = fib_report,
    .release = fib_release,
};

const bench_problem fib_plain_problem = {
    .name = "fib_plain",
    .prepare = fib_prepare,
    .check = fib_check,
    .report = fib_report,
    .release = fib_release,
};

const bench_problem spawn_problem = {
    .name = "spawn",
    .prepare = spawn_prepare,
    .reset = spawn_reset,
    .check = fib_check,
    .report = spawn_report,
    .release = fib_release,
};

const bench_problem fib_yield_problem = {
    .name = "fib_yield",
    .prepare = fib_submit_prepare,
    .check = fib_check,
    .report = fib_submit_report,
    .release = fib_release,
};

const bench_problem fib_block_problem = {
    .name = "fib_block",
    .prepare = fib_submit_prepare,
    .check = fib_check,
    .report = fib_submit_report,
    .release = fib_release,
};
