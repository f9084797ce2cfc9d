// nqueens with oneTBB: a task_group per row runs a task per safe square.
#include "nqueens.h"

#include <tbb/task_group.h>

static long nqueens_tbb(int n, int row, uint32_t cols, uint32_t left, uint32_t right) {
  if (row == n) return 1;
  long counts[NQUEENS_MAX];
  int tasks = 0;
  tbb::task_group group;
  for (uint32_t avail = nqueens_free(n, cols, left, right); avail; avail &= avail - 1) {
    uint32_t bit = avail & -avail;
    long *slot = &counts[tasks++];
    group.run([=] {
      *slot = nqueens_tbb(n, row + 1, cols | bit, (left | bit) << 1, (right | bit) >> 1);
    });
  }
  group.wait();
  long count = 0;
  for (int i = 0; i < tasks; i++)
    count += counts[i];
  return count;
}

extern "C" int nqueens_compute_tbb(void *state) {
  nqueens_state *s = static_cast<nqueens_state *>(state);
  s->result = nqueens_tbb(s->n, 0, 0, 0, 0);
  return 0;
}
