/* Loop kernels (issue 10): parallel loops over independent indices, each in
 * spool (spool_for, automatic grain), serial, OpenMP `parallel for` with a
 * static and a dynamic schedule (both runtimes), and oneTBB parallel_for
 * (its default auto_partitioner):
 *
 *   stream   a[i] = b[i] + s * c[i] over n doubles (memory-bound, regular)
 *   stencil  a 5-point Jacobi sweep of an n x n grid, T sweeps (regular;
 *            one parallel loop over rows per sweep)
 *   mandel   the Mandelbrot set, one row per index (irregular: rows through
 *            the set cost up to max_iter iterations per pixel, others a few)
 *
 * The work of an index range is one serial leaf function here (loops.c),
 * called by every implementation: OpenMP and TBB loop over blocks (stream:
 * STREAM_BLOCK elements; the others: rows) and call the leaf per block, so
 * only the scheduling differs. OpenMP's dynamic schedule hands out one
 * block at a time. Each answer is checked against a serial recomputation.
 *
 * And spool-only micro-benchmarks (loops_spool.c):
 *
 *   loop_overhead  spool_for with grain 0 over a trivial body, 10^6
 *                  indices, against the same body called once: the cost
 *                  per iteration (1 worker)
 *   map            spool_map over 10^6 items against a loop of one
 *                  spool_submit (with a future) per item and a result each
 *   submit_copy    fire-and-forget spool_submit_copy of a 32-byte argument
 *                  against malloc + spool_submit + free in the task */
#ifndef PERF_LOOPS_H
#define PERF_LOOPS_H

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STREAM_BLOCK 4096

typedef struct stream_state {
  size_t n;
  double scalar;
  double *a, *b, *c;
} stream_state;

typedef struct stencil_state {
  size_t n, sweeps;
  double *grid[2]; /* the answer ends in grid[sweeps % 2] */
} stencil_state;

typedef struct mandel_state {
  size_t width, height;
  unsigned max_iter;
  uint16_t *out; /* iterations per pixel */
} mandel_state;

/* The serial leaves: the work of [lo, hi). */
void stream_range(stream_state *s, size_t lo, size_t hi);
/* Rows [lo, hi) of dst from src; rows 0 and n-1 are fixed borders, so
   callers pass 1 <= lo <= hi <= n-1. */
void stencil_rows(stencil_state *s, const double *src, double *dst, size_t lo, size_t hi);
void mandel_rows(mandel_state *s, size_t lo, size_t hi);

extern const bench_problem stream_problem, stencil_problem, mandel_problem;
/* The same problems under the names the OpenMP binaries give their
   dynamic-schedule versions (suite.py runs them as gomp_dynamic and
   iomp_dynamic). */
extern const bench_problem stream_dynamic_problem, stencil_dynamic_problem, mandel_dynamic_problem;

int stream_compute_serial(void *state);
int stencil_compute_serial(void *state);
int mandel_compute_serial(void *state);
int stream_compute_spool(void *state);
int stencil_compute_spool(void *state);
int mandel_compute_spool(void *state);
int stream_compute_omp_static(void *state);
int stencil_compute_omp_static(void *state);
int mandel_compute_omp_static(void *state);
int stream_compute_omp_dynamic(void *state);
int stencil_compute_omp_dynamic(void *state);
int mandel_compute_omp_dynamic(void *state);
int stream_compute_tbb(void *state);
int stencil_compute_tbb(void *state);
int mandel_compute_tbb(void *state);

/* spool only (loops_spool.c). */
extern const bench_problem loop_overhead_problem, map_problem, submit_copy_problem;
int loop_overhead_compute_spool(void *state);
int map_compute_spool(void *state);
int submit_copy_compute_spool(void *state);

#ifdef __cplusplus
}
#endif

#endif /* PERF_LOOPS_H */
