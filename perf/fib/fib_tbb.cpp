// fib with oneTBB: a task_group per call runs fib(n-1), fib(n-2) inline,
// wait.
#include "fib.h"

#include <tbb/task_group.h>

static long fib_tbb(int n) {
  if (n < 2) return n;
  long left, right;
  tbb::task_group group;
  group.run([&left, n] { left = fib_tbb(n - 1); });
  right = fib_tbb(n - 2);
  group.wait();
  return left + right;
}

extern "C" int fib_compute_tbb(void *state) {
  fib_state *s = static_cast<fib_state *>(state);
  s->result = fib_tbb(s->n);
  return 0;
}
