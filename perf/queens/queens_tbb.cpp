// queens with oneTBB: a task_group per row runs a task per safe candidate.
#include "queens.h"

#include <tbb/task_group.h>

static long queens_tbb(int n, int row, const char *board) {
  if (row == n) return 1;
  char boards[QUEENS_MAX][QUEENS_MAX];
  long counts[QUEENS_MAX];
  int tasks = 0;
  tbb::task_group group;
  for (int col = 0; col < n; col++) {
    if (!queens_extend(boards[tasks], board, row, col)) continue;
    long *slot = &counts[tasks];
    const char *next = boards[tasks];
    group.run([=] { *slot = queens_tbb(n, row + 1, next); });
    tasks++;
  }
  group.wait();
  long count = 0;
  for (int i = 0; i < tasks; i++)
    count += counts[i];
  return count;
}

extern "C" int queens_compute_tbb(void *state) {
  queens_state *s = static_cast<queens_state *>(state);
  s->result = queens_tbb(s->n, 0, "");
  return 0;
}
