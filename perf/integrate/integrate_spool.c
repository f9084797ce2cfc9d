/* integrate with spool: fork the left half, compute the right, sync. */
#include "impl_spool.h"
#include "integrate.h"

/* Two versions: the typed fork-join of spool.h (SPOOL_FORK / SPOOL_SYNC,
   the "spool" column), and with PERF_SPOOL_FN the spool_fn version
   (spool_fork / spool_sync, the "spool-fn" column, perf_spool_fn). */
#ifdef PERF_SPOOL_FN

typedef struct interval {
  double x1, y1, x2, y2, whole, epsilon;
  double result; /* written by the task */
} interval;

static int interval_task(void *arg, void **unused) {
  (void)unused;
  interval *i = arg;
  double x0, y0, left, right;
  if (integrate_split(i->x1, i->y1, i->x2, i->y2, i->whole, i->epsilon, &x0, &y0, &left, &right)) {
    i->result = left + right;
    return 0;
  }
  interval l = {i->x1, i->y1, x0, y0, left, i->epsilon, 0};
  interval r = {x0, y0, i->x2, i->y2, right, i->epsilon, 0};
  spool_task frame;
  spool_fork(&frame, interval_task, &l);
  int rc = interval_task(&r, NULL);
  int rc_left = spool_sync(&frame, NULL);
  i->result = l.result + r.result;
  return rc_left ? rc_left : rc;
}

int integrate_compute_spool(void *state) {
  integrate_state *s = state;
  double y1 = integrand(s->lo), y2 = integrand(s->hi);
  interval root = {s->lo, y1, s->hi, y2, (y1 + y2) / 2 * (s->hi - s->lo), s->epsilon, 0};
  int rc = spool_run(bench_spool, interval_task, &root, NULL);
  s->result = root.result;
  return rc;
}

#else /* typed fork-join */

static double interval(double x1, double y1, double x2, double y2, double whole, double epsilon);
SPOOL_FORKABLE(double, interval, double, double, double, double, double, double);

static double interval(double x1, double y1, double x2, double y2, double whole, double epsilon) {
  double x0, y0, left, right;
  if (integrate_split(x1, y1, x2, y2, whole, epsilon, &x0, &y0, &left, &right)) return left + right;
  spool_frame(interval) frame;
  SPOOL_FORK(&frame, interval, x1, y1, x0, y0, left, epsilon);
  double r = interval(x0, y0, x2, y2, right, epsilon);
  return SPOOL_SYNC(&frame, interval) + r;
}

static int interval_root(void *arg, void **result) {
  (void)result;
  integrate_state *s = arg;
  double y1 = integrand(s->lo), y2 = integrand(s->hi);
  s->result = interval(s->lo, y1, s->hi, y2, (y1 + y2) / 2 * (s->hi - s->lo), s->epsilon);
  return 0;
}

int integrate_compute_spool(void *state) {
  return spool_run(bench_spool, interval_root, state, NULL);
}

#endif
