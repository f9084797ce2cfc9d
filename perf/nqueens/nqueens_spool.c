/* nqueens with spool: fork a task per safe square, sync them all. */
#include "impl_spool.h"
#include "nqueens.h"

typedef struct placement {
  int n, row;
  uint32_t cols, left, right;
  long count; /* written by the task */
} placement;

static int place_task(void *arg, void **result) {
  (void)result;
  placement *p = arg;
  if (p->row == p->n) {
    p->count = 1;
    return 0;
  }
  placement next[NQUEENS_MAX];
  spool_task frames[NQUEENS_MAX];
  int forked = 0;
  for (uint32_t avail = nqueens_free(p->n, p->cols, p->left, p->right); avail; avail &= avail - 1) {
    uint32_t bit = avail & -avail;
    next[forked] = (placement){
        p->n, p->row + 1, p->cols | bit, (p->left | bit) << 1, (p->right | bit) >> 1, 0};
    spool_fork(&frames[forked], place_task, &next[forked]);
    forked++;
  }
  long count = 0;
  int rc = 0;
  while (forked-- > 0) {
    int rc_child = spool_sync(&frames[forked], NULL);
    if (rc_child && !rc) rc = rc_child;
    count += next[forked].count;
  }
  p->count = count;
  return rc;
}

int nqueens_compute_spool(void *state) {
  nqueens_state *s = state;
  placement root = {s->n, 0, 0, 0, 0, 0};
  int rc = spool_run(bench_spool, place_task, &root, NULL);
  s->result = root.count;
  return rc;
}
