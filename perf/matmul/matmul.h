/* matmul: C = A * B for n x n doubles (n a power of two, row-major), by
 * recursive blocking: each product splits into quadrants, the four products
 * into distinct quadrants of C run in parallel, then the other four. The
 * definition has a block size: MATMUL_LEAF x MATMUL_LEAF products run
 * serially (matmul.c, shared by every implementation). The answer is
 * checked by Freivalds' method (C x against A (B x) for a random x, within
 * the rounding bound of the dot products). */
#ifndef PERF_MATMUL_H
#define PERF_MATMUL_H

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MATMUL_LEAF 32
/* Rows are padded by 64 bytes: with a power-of-two stride the rows of a
   block fall into the same cache sets, and the time then depends on how
   the process's pages happen to map (measured: 42 to 76 ms for the serial
   n = 512 between runs). */
#define MATMUL_ROW_PAD 8

typedef struct matmul_state {
  size_t n, ld; /* ld: the row stride, n + MATMUL_ROW_PAD */
  double *a, *b, *c;
} matmul_state;

/* C += A * B for one MATMUL_LEAF block; ld is the row stride. */
void matmul_leaf(double *c, const double *a, const double *b, size_t ld);

extern const bench_problem matmul_problem;

int matmul_compute_serial(void *state);
int matmul_compute_spool(void *state);
int matmul_compute_omp(void *state);
int matmul_compute_tbb(void *state);

#ifdef __cplusplus
}
#endif

#endif /* PERF_MATMUL_H */
