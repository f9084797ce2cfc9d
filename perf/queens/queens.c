/* queens: sizes, checks and the serial version (see queens.h). */
#include "queens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nqueens.h"

/* As perf/nqueens, but 10 for small and 13 for large: each task does far
   more work, and queens(14) would take minutes serially. */
static const int queens_sizes[4] = {8, 10, 12, 13};

static int queens_prepare(const char *size, void **state, char *err, size_t errlen) {
  queens_state *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->n = queens_sizes[bench_size_index(size)];
  s->expected = nqueens_solutions[s->n];
  *state = s;
  return 0;
}

static int queens_check(void *state, char *msg, size_t msglen) {
  queens_state *s = state;
  if (s->result == s->expected) return 0;
  snprintf(msg, msglen, "queens(%d) = %ld, expected %ld", s->n, s->result, s->expected);
  return -1;
}

static void queens_report(void *state, double median_seconds, bench_report *r) {
  (void)median_seconds;
  queens_state *s = state;
  snprintf(r->params, sizeof r->params, "n=%d", s->n);
  snprintf(r->value, sizeof r->value, "%ld", s->result);
}

static void queens_release(void *state) {
  free(state);
}

__attribute__((noinline)) int queens_extend(char *next, const char *board, int row, int col) {
  memcpy(next, board, (size_t)row);
  next[row] = (char)col;
  for (int i = 0; i <= row; i++)
    for (int j = i + 1; j <= row; j++) {
      int d = next[j] - next[i];
      if (d == 0 || d == j - i || d == i - j) return 0;
    }
  return 1;
}

/* The parallel versions with their forks and syncs removed: the same
   boards, one per candidate, in the same array. */
static long queens_serial(int n, int row, const char *board) {
  if (row == n) return 1;
  char boards[QUEENS_MAX][QUEENS_MAX];
  long count = 0;
  int placed = 0;
  for (int col = 0; col < n; col++) {
    if (!queens_extend(boards[placed], board, row, col)) continue;
    count += queens_serial(n, row + 1, boards[placed]);
    placed++;
  }
  return count;
}

int queens_compute_serial(void *state) {
  queens_state *s = state;
  s->result = queens_serial(s->n, 0, "");
  return 0;
}

const bench_problem queens_problem = {
    .name = "queens",
    .prepare = queens_prepare,
    .check = queens_check,
    .report = queens_report,
    .release = queens_release,
};
