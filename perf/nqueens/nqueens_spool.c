/* nqueens with spool: fork a task per safe square, sync them all. */
#include "impl_spool.h"
#include "nqueens.h"

/* Two versions: the typed fork-join of spool.h (SPOOL_FORK / SPOOL_SYNC,
   the "spool" column), and with PERF_SPOOL_FN the spool_fn version
   (spool_fork / spool_sync, the "spool-fn" column, perf_spool_fn). */
#ifdef PERF_SPOOL_FN

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

#else /* typed fork-join */

static long place(int n, int row, uint32_t cols, uint32_t left, uint32_t right);
SPOOL_FORKABLE(long, place, int, int, uint32_t, uint32_t, uint32_t);

static long place(int n, int row, uint32_t cols, uint32_t left, uint32_t right) {
  if (row == n) return 1;
  spool_frame(place) frames[NQUEENS_MAX];
  int forked = 0;
  for (uint32_t avail = nqueens_free(n, cols, left, right); avail; avail &= avail - 1) {
    uint32_t bit = avail & -avail;
    SPOOL_FORK(&frames[forked], place, n, row + 1, cols | bit, (left | bit) << 1,
               (right | bit) >> 1);
    forked++;
  }
  long count = 0;
  while (forked-- > 0)
    count += SPOOL_SYNC(&frames[forked], place);
  return count;
}

static int place_root(void *arg, void **result) {
  (void)result;
  nqueens_state *s = arg;
  s->result = place(s->n, 0, 0, 0, 0);
  return 0;
}

int nqueens_compute_spool(void *state) {
  return spool_run(bench_spool, place_root, state, NULL);
}

#endif
