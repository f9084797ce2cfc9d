/* integrate with OpenMP tasks: a task for the left half, the right inline,
   taskwait. */
#include "integrate.h"

static double integrate_omp(double x1, double y1, double x2, double y2, double whole,
                            double epsilon) {
  double x0, y0, left, right;
  if (integrate_split(x1, y1, x2, y2, whole, epsilon, &x0, &y0, &left, &right)) return left + right;
  double l, r;
#pragma omp task shared(l)
  l = integrate_omp(x1, y1, x0, y0, left, epsilon);
  r = integrate_omp(x0, y0, x2, y2, right, epsilon);
#pragma omp taskwait
  return l + r;
}

int integrate_compute_omp(void *state) {
  integrate_state *s = state;
  double y1 = integrand(s->lo), y2 = integrand(s->hi), result = 0;
#pragma omp parallel
#pragma omp single
  result = integrate_omp(s->lo, y1, s->hi, y2, (y1 + y2) / 2 * (s->hi - s->lo), s->epsilon);
  s->result = result;
  return 0;
}
