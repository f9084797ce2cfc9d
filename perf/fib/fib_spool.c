/* fib with spool_fork / spool_sync: fork fib(n-1), run fib(n-2), sync. */
#include "fib.h"
#include "impl_spool.h"

static int fib_task(void *arg, void **result) {
  long n = spool_result_int(arg);
  if (n < 2) {
    *result = spool_int_result(n);
    return 0;
  }
  spool_task frame;
  spool_fork(&frame, fib_task, spool_int_result(n - 1));
  void *right;
  int rc = fib_task(spool_int_result(n - 2), &right);
  void *left;
  int rc_left = spool_sync(&frame, &left);
  if (rc_left) return rc_left;
  if (rc) return rc;
  *result = spool_int_result(spool_result_int(left) + spool_result_int(right));
  return 0;
}

int fib_compute_spool(void *state) {
  fib_state *s = state;
  void *result = NULL;
  int rc = spool_run(bench_spool, fib_task, spool_int_result(s->n), &result);
  s->result = spool_result_int(result);
  return rc;
}
