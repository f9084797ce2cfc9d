/* nqueens with OpenMP tasks: a task per safe square, one taskwait. */
#include "nqueens.h"

static long nqueens_omp(int n, int row, uint32_t cols, uint32_t left, uint32_t right) {
  if (row == n) return 1;
  long counts[NQUEENS_MAX];
  int tasks = 0;
  for (uint32_t avail = nqueens_free(n, cols, left, right); avail; avail &= avail - 1) {
    uint32_t bit = avail & -avail;
#pragma omp task shared(counts) firstprivate(tasks, bit)
    counts[tasks] = nqueens_omp(n, row + 1, cols | bit, (left | bit) << 1, (right | bit) >> 1);
    tasks++;
  }
#pragma omp taskwait
  long count = 0;
  for (int i = 0; i < tasks; i++)
    count += counts[i];
  return count;
}

int nqueens_compute_omp(void *state) {
  nqueens_state *s = state;
  long result = 0;
#pragma omp parallel
#pragma omp single
  result = nqueens_omp(s->n, 0, 0, 0, 0);
  s->result = result;
  return 0;
}
