/* nqueens: count the placements of n queens on an n x n board. Each safe
 * square of a row is a task (no cutoff), as in Cilk's and BOTS' versions;
 * the board is three bit masks (columns and both diagonals). */
#ifndef PERF_NQUEENS_H
#define PERF_NQUEENS_H

#include <stdint.h>

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NQUEENS_MAX 16

typedef struct nqueens_state {
  int n;
  long result;
  long expected;
} nqueens_state;

/* The squares still free in the next row, as a mask of n bits. */
static inline uint32_t nqueens_free(int n, uint32_t cols, uint32_t left, uint32_t right) {
  return ~(cols | left | right) & ((UINT32_C(1) << n) - 1);
}

/* The number of solutions for n = 0..NQUEENS_MAX (OEIS A000170). */
extern const long nqueens_solutions[NQUEENS_MAX + 1];

extern const bench_problem nqueens_problem;

int nqueens_compute_serial(void *state);
int nqueens_compute_spool(void *state);
int nqueens_compute_omp(void *state);
int nqueens_compute_tbb(void *state);

#ifdef __cplusplus
}
#endif

#endif /* PERF_NQUEENS_H */
