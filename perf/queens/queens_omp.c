/* queens with OpenMP tasks: a task per safe candidate, one taskwait. */
#include "queens.h"

static long queens_omp(int n, int row, const char *board) {
  if (row == n) return 1;
  char boards[QUEENS_MAX][QUEENS_MAX];
  long counts[QUEENS_MAX];
  int tasks = 0;
  for (int col = 0; col < n; col++) {
    if (!queens_extend(boards[tasks], board, row, col)) continue;
#pragma omp task shared(counts, boards) firstprivate(tasks)
    counts[tasks] = queens_omp(n, row + 1, boards[tasks]);
    tasks++;
  }
#pragma omp taskwait
  long count = 0;
  for (int i = 0; i < tasks; i++)
    count += counts[i];
  return count;
}

int queens_compute_omp(void *state) {
  queens_state *s = state;
  long result = 0;
#pragma omp parallel
#pragma omp single
  result = queens_omp(s->n, 0, "");
  s->result = result;
  return 0;
}
