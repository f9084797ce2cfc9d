/* The consumer of tests/package: fib(20) by fork-join from main, through an
 * installed spool. Prints the version it was compiled against and the
 * result; exits 0 when it is right. */
#include <spool.h>
#include <stdint.h>
#include <stdio.h>

static int fib(void *arg, void **result) {
  intptr_t n = (intptr_t)arg;
  if (n < 2) {
    *result = (void *)n;
    return 0;
  }
  spool_task t;
  void *a, *b;
  spool_fork(&t, fib, (void *)(n - 1));
  fib((void *)(n - 2), &b);
  int rc = spool_sync(&t, &a);
  *result = (void *)((intptr_t)a + (intptr_t)b);
  return rc;
}

int main(void) {
  spool_executor *ex;
  if (spool_executor_create(&ex, NULL) != SPOOL_OK) return 1;
  void *v = NULL;
  int rc = spool_run(ex, fib, (void *)20, &v);
  spool_executor_destroy(ex);
  printf("spool %d.%d: fib(20) = %ld\n", SPOOL_VERSION_MAJOR, SPOOL_VERSION_MINOR,
         (long)(intptr_t)v);
  return rc == SPOOL_OK && (intptr_t)v == 6765 ? 0 : 1;
}
