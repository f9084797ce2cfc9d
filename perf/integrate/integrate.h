/* integrate: adaptive quadrature, an irregular recursion (Cilk's
 * "integrate" example). An interval is split in two; when the trapezoid
 * rule on the halves agrees with the whole within epsilon the halves' sum is
 * returned, otherwise both halves recurse in parallel. The integrand
 * (x^2 + 1) x curves more at large x, so the tree is deeper there. No cutoff
 * beyond epsilon. Every implementation adds left + right at every node, so
 * all give the same bits; the check compares with the exact integral. */
#ifndef PERF_INTEGRATE_H
#define PERF_INTEGRATE_H

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct integrate_state {
  double epsilon, lo, hi;
  double result;
} integrate_state;

static inline double integrand(double x) {
  return (x * x + 1.0) * x;
}

/* One step: the midpoint, and the trapezoids of both halves. Returns true
   when the halves' sum is close enough to `whole` to stop. */
static inline bool integrate_split(double x1, double y1, double x2, double y2, double whole,
                                   double epsilon, double *x0, double *y0, double *left,
                                   double *right) {
  double half = (x2 - x1) / 2;
  *x0 = x1 + half;
  *y0 = integrand(*x0);
  *left = (y1 + *y0) / 2 * half;
  *right = (*y0 + y2) / 2 * half;
  double both = *left + *right;
  return both - whole < epsilon && whole - both < epsilon;
}

extern const bench_problem integrate_problem;

int integrate_compute_serial(void *state);
int integrate_compute_spool(void *state);
int integrate_compute_omp(void *state);
int integrate_compute_tbb(void *state);

#ifdef __cplusplus
}
#endif

#endif /* PERF_INTEGRATE_H */
