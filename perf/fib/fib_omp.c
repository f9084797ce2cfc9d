/* fib with OpenMP tasks: a task for fib(n-1), fib(n-2) inline, taskwait.
   Built with GCC's libgomp and with LLVM's libomp. */
#include "fib.h"

static long fib_omp(int n) {
  if (n < 2) return n;
  long left, right;
#pragma omp task shared(left) firstprivate(n)
  left = fib_omp(n - 1);
  right = fib_omp(n - 2);
#pragma omp taskwait
  return left + right;
}

int fib_compute_omp(void *state) {
  fib_state *s = state;
  long result = 0;
#pragma omp parallel
#pragma omp single
  result = fib_omp(s->n);
  s->result = result;
  return 0;
}
