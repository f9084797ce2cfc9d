/* fib with spool_fork / spool_sync, written as the peers' versions are: the
   recursion is a plain function returning its value, and the forked call
   fib(n-1) is a spool_fn (the closure of oneTBB's lambda, of OpenMP's task
   region); fib(n-2) runs meanwhile, then sync. A fork at every call. */
#include "fib.h"
#include "impl_spool.h"

/* Two versions: the typed fork-join of spool.h (SPOOL_FORK / SPOOL_SYNC,
   the "spool" column), and with PERF_SPOOL_FN the spool_fn version
   (spool_fork / spool_sync, the "spool-fn" column, perf_spool_fn). */
#ifdef PERF_SPOOL_FN

static long fib_spool(long n);

static int fib_task(void *arg, void **result) {
  *result = spool_int_result(fib_spool(spool_result_int(arg)));
  return 0;
}

static long fib_spool(long n) {
  if (n < 2) return n;
  spool_task frame;
  spool_fork(&frame, fib_task, spool_int_result(n - 1));
  long right = fib_spool(n - 2);
  void *left;
  if (spool_sync(&frame, &left) != 0) return -1; /* fib_task cannot fail; -1 fails the check */
  return spool_result_int(left) + right;
}

int fib_compute_spool(void *state) {
  fib_state *s = state;
  void *result = NULL;
  int rc = spool_run(bench_spool, fib_task, spool_int_result(s->n), &result);
  s->result = spool_result_int(result);
  return rc;
}

#else /* typed fork-join */

static long fib_typed(long n);
SPOOL_FORKABLE(long, fib_typed, long);

static long fib_typed(long n) {
  if (n < 2) return n;
  spool_frame(fib_typed) frame;
  SPOOL_FORK(&frame, fib_typed, n - 1);
  long right = fib_typed(n - 2);
  return SPOOL_SYNC(&frame, fib_typed) + right;
}

static int fib_root(void *arg, void **result) {
  *result = spool_int_result(fib_typed(spool_result_int(arg)));
  return 0;
}

int fib_compute_spool(void *state) {
  fib_state *s = state;
  void *result = NULL;
  int rc = spool_run(bench_spool, fib_root, spool_int_result(s->n), &result);
  s->result = spool_result_int(result);
  return rc;
}

#endif
