/* queens with spool: fork a task per safe candidate, sync them all. */
#include "impl_spool.h"
#include "queens.h"

/* As perf/nqueens: the typed fork-join of spool.h (the "spool" column),
   and with PERF_SPOOL_FN the spool_fn version (the "spool-fn" column). */
#ifdef PERF_SPOOL_FN

typedef struct queens_task_arg {
  int n, row;
  const char *board;
  long count; /* written by the task */
} queens_task_arg;

static int queens_task(void *arg, void **result) {
  (void)result;
  queens_task_arg *q = arg;
  if (q->row == q->n) {
    q->count = 1;
    return 0;
  }
  char boards[QUEENS_MAX][QUEENS_MAX];
  queens_task_arg next[QUEENS_MAX];
  spool_task frames[QUEENS_MAX];
  int forked = 0;
  for (int col = 0; col < q->n; col++) {
    if (!queens_extend(boards[forked], q->board, q->row, col)) continue;
    next[forked] = (queens_task_arg){q->n, q->row + 1, boards[forked], 0};
    spool_fork(&frames[forked], queens_task, &next[forked]);
    forked++;
  }
  long count = 0;
  int rc = 0;
  while (forked-- > 0) {
    int rc_child = spool_sync(&frames[forked], NULL);
    if (rc_child && !rc) rc = rc_child;
    count += next[forked].count;
  }
  q->count = count;
  return rc;
}

int queens_compute_spool(void *state) {
  queens_state *s = state;
  queens_task_arg root = {s->n, 0, "", 0};
  int rc = spool_run(bench_spool, queens_task, &root, NULL);
  s->result = root.count;
  return rc;
}

#else /* typed fork-join */

static long queens(int n, int row, const char *board);
SPOOL_FORKABLE(long, queens, int, int, const char *);

static long queens(int n, int row, const char *board) {
  if (row == n) return 1;
  char boards[QUEENS_MAX][QUEENS_MAX];
  spool_frame(queens) frames[QUEENS_MAX];
  int forked = 0;
  for (int col = 0; col < n; col++) {
    if (!queens_extend(boards[forked], board, row, col)) continue;
    SPOOL_FORK(&frames[forked], queens, n, row + 1, boards[forked]);
    forked++;
  }
  long count = 0;
  while (forked-- > 0)
    count += SPOOL_SYNC(&frames[forked], queens);
  return count;
}

static int queens_root(void *arg, void **result) {
  (void)result;
  queens_state *s = arg;
  s->result = queens(s->n, 0, "");
  return 0;
}

int queens_compute_spool(void *state) {
  return spool_run(bench_spool, queens_root, state, NULL);
}

#endif
