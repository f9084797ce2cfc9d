/* matmul: input, check, the serial leaf and the serial version (see
   matmul.h). */
#include "matmul.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const size_t matmul_sizes[4] = {128, 512, 1024, 2048};

static double uniform(uint64_t *seed) {
  return (double)(bench_rand_next(seed) >> 11) * 0x1.0p-52 - 1.0; /* [-1, 1) */
}

static void matmul_release(void *state);

static int matmul_prepare(const char *size, void **state, char *err, size_t errlen) {
  matmul_state *s = calloc(1, sizeof *s);
  if (!s) goto oom;
  s->n = matmul_sizes[bench_size_index(size)];
  s->ld = s->n + MATMUL_ROW_PAD;
  size_t cells = s->n * s->ld;
  s->a = calloc(cells, sizeof *s->a);
  s->b = calloc(cells, sizeof *s->b);
  s->c = calloc(cells, sizeof *s->c);
  if (!s->a || !s->b || !s->c) {
    matmul_release(s);
    goto oom;
  }
  uint64_t seed = 12345;
  for (size_t i = 0; i < s->n; i++)
    for (size_t j = 0; j < s->n; j++) {
      s->a[i * s->ld + j] = uniform(&seed);
      s->b[i * s->ld + j] = uniform(&seed);
    }
  *state = s;
  return 0;
oom:
  snprintf(err, errlen, "out of memory");
  return -1;
}

static void matmul_reset(void *state) {
  matmul_state *s = state;
  memset(s->c, 0, s->n * s->ld * sizeof *s->c);
}

/* y = M x and, in bound, |M| |x|. */
static void matrix_vector(const double *m, size_t ld, const double *x, const double *xabs, size_t n,
                          double *y, double *bound) {
  for (size_t i = 0; i < n; i++) {
    double sum = 0, abs_sum = 0;
    for (size_t j = 0; j < n; j++) {
      sum += m[i * ld + j] * x[j];
      abs_sum += fabs(m[i * ld + j]) * xabs[j];
    }
    y[i] = sum;
    bound[i] = abs_sum;
  }
}

static int matmul_check(void *state, char *msg, size_t msglen) {
  matmul_state *s = state;
  size_t n = s->n;
  double *v = calloc(8 * n, sizeof *v);
  if (!v) {
    snprintf(msg, msglen, "out of memory in the check");
    return -1;
  }
  double *x = v, *xabs = v + n, *bx = v + 2 * n, *bxabs = v + 3 * n, *abx = v + 4 * n,
         *bound = v + 5 * n, *cx = v + 6 * n, *cxabs = v + 7 * n;
  uint64_t seed = 777;
  for (size_t i = 0; i < n; i++) {
    x[i] = uniform(&seed);
    xabs[i] = fabs(x[i]);
  }
  matrix_vector(s->b, s->ld, x, xabs, n, bx, bxabs);
  matrix_vector(s->a, s->ld, bx, bxabs, n, abx, bound);
  matrix_vector(s->c, s->ld, x, xabs, n, cx, cxabs);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    /* Both sides are sums of the n^2 terms a_ik b_kj x_j in different
       orders: each within about 2n ulps of their absolute sum. */
    double tolerance = 4.0 * (double)n * DBL_EPSILON * bound[i] + DBL_MIN;
    if (!(fabs(cx[i] - abx[i]) <= tolerance)) {
      snprintf(msg, msglen, "row %zu: (C x) = %.17g but A (B x) = %.17g", i, cx[i], abx[i]);
      rc = -1;
    }
  }
  free(v);
  return rc;
}

static void matmul_report(void *state, double median_seconds, bench_report *r) {
  matmul_state *s = state;
  double n = (double)s->n;
  snprintf(r->params, sizeof r->params, "n=%zu double, block %d", s->n, MATMUL_LEAF);
  snprintf(r->value, sizeof r->value, "C[0][0]=%.6f", s->c[0]);
  r->metrics[0].name = "seconds_per_gflop";
  r->metrics[0].value = median_seconds / (2.0 * n * n * n * 1e-9);
  r->nmetrics = 1;
}

static void matmul_release(void *state) {
  matmul_state *s = state;
  if (!s) return;
  free(s->a);
  free(s->b);
  free(s->c);
  free(s);
}

/* noinline: every implementation, the serial one included, calls this same
   code (inlined into the serial recursion it ran 40% slower). */
__attribute__((noinline)) void matmul_leaf(double *restrict c, const double *restrict a,
                                           const double *restrict b, size_t ld) {
  for (size_t i = 0; i < MATMUL_LEAF; i++)
    for (size_t k = 0; k < MATMUL_LEAF; k++) {
      double aik = a[i * ld + k];
      for (size_t j = 0; j < MATMUL_LEAF; j++)
        c[i * ld + j] += aik * b[k * ld + j];
    }
}

static void matmul_serial(double *c, const double *a, const double *b, size_t n, size_t ld) {
  if (n <= MATMUL_LEAF) {
    matmul_leaf(c, a, b, ld);
    return;
  }
  size_t h = n / 2, down = h * ld;
  matmul_serial(c, a, b, h, ld);
  matmul_serial(c + h, a, b + h, h, ld);
  matmul_serial(c + down, a + down, b, h, ld);
  matmul_serial(c + down + h, a + down, b + h, h, ld);
  matmul_serial(c, a + h, b + down, h, ld);
  matmul_serial(c + h, a + h, b + down + h, h, ld);
  matmul_serial(c + down, a + down + h, b + down, h, ld);
  matmul_serial(c + down + h, a + down + h, b + down + h, h, ld);
}

int matmul_compute_serial(void *state) {
  matmul_state *s = state;
  matmul_serial(s->c, s->a, s->b, s->n, s->ld);
  return 0;
}

const bench_problem matmul_problem = {
    .name = "matmul",
    .prepare = matmul_prepare,
    .reset = matmul_reset,
    .check = matmul_check,
    .report = matmul_report,
    .release = matmul_release,
};
