/* nqueens: sizes, checks and the serial version (see nqueens.h). */
#include "nqueens.h"

#include <stdio.h>
#include <stdlib.h>

/* nqueens(12) is issue 5's size. */
static const int nqueens_sizes[4] = {8, 11, 12, 14};

/* The number of solutions for n = 0..16 (OEIS A000170). */
const long nqueens_solutions[NQUEENS_MAX + 1] = {
    1, 1, 0, 0, 2, 10, 4, 40, 92, 352, 724, 2680, 14200, 73712, 365596, 2279184, 14772512};

static int nqueens_prepare(const char *size, void **state, char *err, size_t errlen) {
  nqueens_state *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->n = nqueens_sizes[bench_size_index(size)];
  s->expected = nqueens_solutions[s->n];
  *state = s;
  return 0;
}

static int nqueens_check(void *state, char *msg, size_t msglen) {
  nqueens_state *s = state;
  if (s->result == s->expected) return 0;
  snprintf(msg, msglen, "nqueens(%d) = %ld, expected %ld", s->n, s->result, s->expected);
  return -1;
}

static void nqueens_report(void *state, double median_seconds, bench_report *r) {
  (void)median_seconds;
  nqueens_state *s = state;
  snprintf(r->params, sizeof r->params, "n=%d", s->n);
  snprintf(r->value, sizeof r->value, "%ld", s->result);
}

static void nqueens_release(void *state) {
  free(state);
}

static long nqueens_serial(int n, int row, uint32_t cols, uint32_t left, uint32_t right) {
  if (row == n) return 1;
  long count = 0;
  for (uint32_t avail = nqueens_free(n, cols, left, right); avail; avail &= avail - 1) {
    uint32_t bit = avail & -avail;
    count += nqueens_serial(n, row + 1, cols | bit, (left | bit) << 1, (right | bit) >> 1);
  }
  return count;
}

int nqueens_compute_serial(void *state) {
  nqueens_state *s = state;
  s->result = nqueens_serial(s->n, 0, 0, 0, 0);
  return 0;
}

const bench_problem nqueens_problem = {
    .name = "nqueens",
    .prepare = nqueens_prepare,
    .check = nqueens_check,
    .report = nqueens_report,
    .release = nqueens_release,
};
