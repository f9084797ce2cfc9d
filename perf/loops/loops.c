/* The loop kernels' problems, serial leaves and serial versions (loops.h). */
#include "loops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- stream ------------------------------------------------------------------ */

static const size_t stream_sizes[4] = {100000, 10000000, 100000000, 100000000};

__attribute__((noinline)) void stream_range(stream_state *s, size_t lo, size_t hi) {
  double *restrict a = s->a;
  const double *restrict b = s->b, *restrict c = s->c;
  double scalar = s->scalar;
  for (size_t i = lo; i < hi; i++)
    a[i] = b[i] + scalar * c[i];
}

static void stream_release(void *state) {
  stream_state *s = state;
  if (!s) return;
  free(s->a);
  free(s->b);
  free(s->c);
  free(s);
}

static int stream_prepare(const char *size, void **state, char *err, size_t errlen) {
  stream_state *s = calloc(1, sizeof *s);
  if (!s) goto oom;
  s->n = stream_sizes[bench_size_index(size)];
  s->scalar = 3.0;
  s->a = malloc(s->n * sizeof *s->a);
  s->b = malloc(s->n * sizeof *s->b);
  s->c = malloc(s->n * sizeof *s->c);
  if (!s->a || !s->b || !s->c) {
    stream_release(s);
    goto oom;
  }
  for (size_t i = 0; i < s->n; i++) {
    s->a[i] = -1.0;
    s->b[i] = (double)(i % 1000) * 0.5;
    s->c[i] = (double)(i % 77) * 0.25;
  }
  *state = s;
  return 0;
oom:
  snprintf(err, errlen, "out of memory");
  return -1;
}

static void stream_reset(void *state) {
  stream_state *s = state;
  memset(s->a, 0xFF, s->n * sizeof *s->a); /* NaN: an index left out shows */
}

static int stream_check(void *state, char *msg, size_t msglen) {
  stream_state *s = state;
  for (size_t i = 0; i < s->n; i++) {
    double want = s->b[i] + s->scalar * s->c[i];
    if (!(fabs(s->a[i] - want) <= 1e-12 * fabs(want))) {
      snprintf(msg, msglen, "a[%zu] = %g, expected %g", i, s->a[i], want);
      return -1;
    }
  }
  return 0;
}

static void stream_report(void *state, double median_seconds, bench_report *r) {
  stream_state *s = state;
  snprintf(r->params, sizeof r->params, "n=%zu doubles", s->n);
  snprintf(r->value, sizeof r->value, "a[n-1]=%g", s->a[s->n - 1]);
  r->metrics[0].name = "ns_per_element";
  r->metrics[0].value = median_seconds * 1e9 / (double)s->n;
  r->metrics[1].name = "seconds_per_gb"; /* 24 bytes moved per element */
  r->metrics[1].value = median_seconds / ((double)s->n * 24e-9);
  r->nmetrics = 2;
}

int stream_compute_serial(void *state) {
  stream_state *s = state;
  stream_range(s, 0, s->n);
  return 0;
}

const bench_problem stream_problem = {"stream",     stream_prepare, stream_reset,
                                      stream_check, stream_report,  stream_release};
const bench_problem stream_dynamic_problem = {"stream_dynamic", stream_prepare, stream_reset,
                                              stream_check,     stream_report,  stream_release};

/* ---- stencil ---------------------------------------------------------------- */

static const size_t stencil_sizes[4] = {128, 1024, 4096, 8192};
static const size_t stencil_sweeps[4] = {4, 20, 20, 20};

__attribute__((noinline)) void stencil_rows(stencil_state *s, const double *src, double *dst,
                                            size_t lo, size_t hi) {
  size_t n = s->n;
  for (size_t i = lo; i < hi; i++) {
    const double *up = src + (i - 1) * n, *row = src + i * n, *down = src + (i + 1) * n;
    double *out = dst + i * n;
    for (size_t j = 1; j + 1 < n; j++)
      out[j] = 0.2 * (row[j] + row[j - 1] + row[j + 1] + up[j] + down[j]);
  }
}

static void stencil_release(void *state) {
  stencil_state *s = state;
  if (!s) return;
  free(s->grid[0]);
  free(s->grid[1]);
  free(s);
}

static void stencil_reset(void *state) {
  stencil_state *s = state;
  size_t n = s->n;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      bool border = i == 0 || j == 0 || i == n - 1 || j == n - 1;
      double v = border ? (double)((i * 7 + j * 3) % 100) : 0.0;
      s->grid[0][i * n + j] = v;
      s->grid[1][i * n + j] = v;
    }
}

static int stencil_prepare(const char *size, void **state, char *err, size_t errlen) {
  stencil_state *s = calloc(1, sizeof *s);
  int k = bench_size_index(size);
  if (!s) goto oom;
  s->n = stencil_sizes[k];
  s->sweeps = stencil_sweeps[k];
  s->grid[0] = malloc(s->n * s->n * sizeof(double));
  s->grid[1] = malloc(s->n * s->n * sizeof(double));
  if (!s->grid[0] || !s->grid[1]) {
    stencil_release(s);
    goto oom;
  }
  stencil_reset(s);
  *state = s;
  return 0;
oom:
  snprintf(err, errlen, "out of memory");
  return -1;
}

int stencil_compute_serial(void *state) {
  stencil_state *s = state;
  for (size_t t = 0; t < s->sweeps; t++)
    stencil_rows(s, s->grid[t % 2], s->grid[(t + 1) % 2], 1, s->n - 1);
  return 0;
}

static int stencil_check(void *state, char *msg, size_t msglen) {
  stencil_state *s = state;
  stencil_state ref = *s;
  ref.grid[0] = malloc(s->n * s->n * sizeof(double));
  ref.grid[1] = malloc(s->n * s->n * sizeof(double));
  if (!ref.grid[0] || !ref.grid[1]) {
    free(ref.grid[0]);
    free(ref.grid[1]);
    snprintf(msg, msglen, "out of memory in the check");
    return -1;
  }
  stencil_reset(&ref);
  stencil_compute_serial(&ref);
  const double *got = s->grid[s->sweeps % 2], *want = ref.grid[s->sweeps % 2];
  int rc = 0;
  for (size_t i = 0; i < s->n * s->n && rc == 0; i++)
    if (got[i] != want[i]) {
      snprintf(msg, msglen, "cell %zu: %.17g, expected %.17g", i, got[i], want[i]);
      rc = -1;
    }
  free(ref.grid[0]);
  free(ref.grid[1]);
  return rc;
}

static void stencil_report(void *state, double median_seconds, bench_report *r) {
  stencil_state *s = state;
  snprintf(r->params, sizeof r->params, "%zux%zu doubles, %zu sweeps", s->n, s->n, s->sweeps);
  snprintf(r->value, sizeof r->value, "centre=%.6f",
           s->grid[s->sweeps % 2][s->n / 2 * s->n + s->n / 2]);
  r->metrics[0].name = "ns_per_cell_update";
  r->metrics[0].value = median_seconds * 1e9 / ((double)s->n * (double)s->n * (double)s->sweeps);
  r->nmetrics = 1;
}

const bench_problem stencil_problem = {"stencil",     stencil_prepare, stencil_reset,
                                       stencil_check, stencil_report,  stencil_release};
const bench_problem stencil_dynamic_problem = {"stencil_dynamic", stencil_prepare, stencil_reset,
                                               stencil_check,     stencil_report,  stencil_release};

/* ---- mandel ----------------------------------------------------------------- */

static const size_t mandel_sizes[4] = {64, 768, 2048, 4096};
static const unsigned mandel_iters[4] = {200, 1000, 1000, 2000};

__attribute__((noinline)) void mandel_rows(mandel_state *s, size_t lo, size_t hi) {
  size_t w = s->width, h = s->height;
  for (size_t y = lo; y < hi; y++) {
    double ci = -1.5 + 3.0 * (double)y / (double)h;
    for (size_t x = 0; x < w; x++) {
      double cr = -2.0 + 3.0 * (double)x / (double)w;
      double zr = 0, zi = 0;
      unsigned k = 0;
      while (k < s->max_iter && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2.0 * zr * zi + ci;
        zr = t;
        k++;
      }
      s->out[y * w + x] = (uint16_t)k;
    }
  }
}

static void mandel_release(void *state) {
  mandel_state *s = state;
  if (!s) return;
  free(s->out);
  free(s);
}

static int mandel_prepare(const char *size, void **state, char *err, size_t errlen) {
  mandel_state *s = calloc(1, sizeof *s);
  int k = bench_size_index(size);
  if (!s || !(s->out = calloc(mandel_sizes[k] * mandel_sizes[k], sizeof *s->out))) {
    mandel_release(s);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->width = s->height = mandel_sizes[k];
  s->max_iter = mandel_iters[k];
  *state = s;
  return 0;
}

static void mandel_reset(void *state) {
  mandel_state *s = state;
  memset(s->out, 0xFF, s->width * s->height * sizeof *s->out);
}

int mandel_compute_serial(void *state) {
  mandel_state *s = state;
  mandel_rows(s, 0, s->height);
  return 0;
}

static int mandel_check(void *state, char *msg, size_t msglen) {
  mandel_state *s = state;
  mandel_state ref = *s;
  ref.out = malloc(s->width * s->height * sizeof *ref.out);
  if (!ref.out) {
    snprintf(msg, msglen, "out of memory in the check");
    return -1;
  }
  mandel_compute_serial(&ref);
  int rc = 0;
  for (size_t i = 0; i < s->width * s->height && rc == 0; i++)
    if (s->out[i] != ref.out[i]) {
      snprintf(msg, msglen, "pixel %zu: %u iterations, expected %u", i, s->out[i], ref.out[i]);
      rc = -1;
    }
  free(ref.out);
  return rc;
}

static void mandel_report(void *state, double median_seconds, bench_report *r) {
  mandel_state *s = state;
  uint64_t total = 0;
  for (size_t i = 0; i < s->width * s->height; i++)
    total += s->out[i];
  snprintf(r->params, sizeof r->params, "%zux%zu, max_iter %u", s->width, s->height, s->max_iter);
  snprintf(r->value, sizeof r->value, "iterations=%llu", (unsigned long long)total);
  r->metrics[0].name = "ns_per_row";
  r->metrics[0].value = median_seconds * 1e9 / (double)s->height;
  r->nmetrics = 1;
}

const bench_problem mandel_problem = {"mandel",     mandel_prepare, mandel_reset,
                                      mandel_check, mandel_report,  mandel_release};
const bench_problem mandel_dynamic_problem = {"mandel_dynamic", mandel_prepare, mandel_reset,
                                              mandel_check,     mandel_report,  mandel_release};
