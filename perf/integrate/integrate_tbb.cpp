// integrate with oneTBB task_group: the left half as a task, the right
// inline, wait.
#include "integrate.h"

#include <tbb/task_group.h>

static double integrate_tbb(double x1, double y1, double x2, double y2, double whole,
                            double epsilon) {
  double x0, y0, left, right;
  if (integrate_split(x1, y1, x2, y2, whole, epsilon, &x0, &y0, &left, &right)) return left + right;
  double l, r;
  tbb::task_group group;
  group.run(
      [&l, x1, y1, x0, y0, left, epsilon] { l = integrate_tbb(x1, y1, x0, y0, left, epsilon); });
  r = integrate_tbb(x0, y0, x2, y2, right, epsilon);
  group.wait();
  return l + r;
}

extern "C" int integrate_compute_tbb(void *state) {
  integrate_state *s = static_cast<integrate_state *>(state);
  double y1 = integrand(s->lo), y2 = integrand(s->hi);
  s->result = integrate_tbb(s->lo, y1, s->hi, y2, (y1 + y2) / 2 * (s->hi - s->lo), s->epsilon);
  return 0;
}
