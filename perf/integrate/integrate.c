/* integrate: sizes, check and the serial version (see integrate.h). */
#include "integrate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Intervals visited: 157,203 / 1,667,303 / 7,288,263 / 66,803,091. */
static const double integrate_epsilons[4] = {10.0, 1e-2, 1e-4, 1e-7};

static int integrate_prepare(const char *size, void **state, char *err, size_t errlen) {
  integrate_state *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->epsilon = integrate_epsilons[bench_size_index(size)];
  s->lo = 0.0;
  s->hi = 10000.0;
  *state = s;
  return 0;
}

static double exact_integral(double lo, double hi) {
  double lo2 = lo * lo, hi2 = hi * hi;
  return (hi2 * hi2 / 4 + hi2 / 2) - (lo2 * lo2 / 4 + lo2 / 2);
}

static int integrate_check(void *state, char *msg, size_t msglen) {
  integrate_state *s = state;
  double exact = exact_integral(s->lo, s->hi);
  /* The measured error is below 1e-10 relative at every size. */
  if (fabs(s->result - exact) <= 1e-9 * fabs(exact)) return 0;
  snprintf(msg, msglen, "integral = %.17g, exact %.17g", s->result, exact);
  return -1;
}

static void integrate_report(void *state, double median_seconds, bench_report *r) {
  (void)median_seconds;
  integrate_state *s = state;
  snprintf(r->params, sizeof r->params, "(x^2+1)x on [%g,%g], eps=%g", s->lo, s->hi, s->epsilon);
  snprintf(r->value, sizeof r->value, "%.17g", s->result);
}

static void integrate_release(void *state) {
  free(state);
}

static double integrate_serial(double x1, double y1, double x2, double y2, double whole,
                               double epsilon) {
  double x0, y0, left, right;
  if (integrate_split(x1, y1, x2, y2, whole, epsilon, &x0, &y0, &left, &right)) return left + right;
  double l = integrate_serial(x1, y1, x0, y0, left, epsilon);
  double r = integrate_serial(x0, y0, x2, y2, right, epsilon);
  return l + r;
}

int integrate_compute_serial(void *state) {
  integrate_state *s = state;
  double y1 = integrand(s->lo), y2 = integrand(s->hi);
  s->result = integrate_serial(s->lo, y1, s->hi, y2, (y1 + y2) / 2 * (s->hi - s->lo), s->epsilon);
  return 0;
}

const bench_problem integrate_problem = {
    .name = "integrate",
    .prepare = integrate_prepare,
    .check = integrate_check,
    .report = integrate_report,
    .release = integrate_release,
};
