/* queens: the n-queens count written as Cilk-5's nqueens example and Lace's
 * benchmarks/queens write it. The board is an array of column numbers, one
 * per row placed; each candidate square of the next row gets its own copy
 * of the board, which queens_ok checks pair by pair (O(rows^2)); every safe
 * candidate is a task (no cutoff).
 *
 * Same tree as perf/nqueens (one task per safe square), but each task does
 * some fifty times the work of the bit-mask version, so the two kernels
 * bracket what a spawn costs relative to the work it carries. */
#ifndef PERF_QUEENS_H
#define PERF_QUEENS_H

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QUEENS_MAX 16

typedef struct queens_state {
  int n;
  long result;
  long expected;
} queens_state;

/* Writes into `next` the board `board` (rows 0..row-1) with a queen at
   column `col` of row `row`, and returns whether no two queens of it attack
   each other (checked pair by pair, as Cilk's ok()). The serial leaf: one
   copy in perf_common, called by every implementation, so that they differ
   only in their forks and syncs, not in how each compiled the check. */
int queens_extend(char *next, const char *board, int row, int col);

extern const bench_problem queens_problem;

int queens_compute_serial(void *state);
int queens_compute_spool(void *state);
int queens_compute_omp(void *state);
int queens_compute_tbb(void *state);

#ifdef __cplusplus
}
#endif

#endif /* PERF_QUEENS_H */
