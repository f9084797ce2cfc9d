/* The serial baselines: the same recursions without forks. */
#include "bench.h"
#include "fib.h"
#include "integrate.h"
#include "loops.h"
#include "matmul.h"
#include "nqueens.h"
#include "queens.h"
#include "sort.h"
#include "uts.h"

static int serial_start(unsigned workers, char *err, size_t errlen) {
  (void)workers;
  (void)err;
  (void)errlen;
  return 0;
}

static void serial_stop(void) {}

static const char *serial_version(void) {
  return "serial, " __VERSION__;
}

static const bench_kernel serial_kernels[] = {
    {&fib_problem, fib_compute_serial},
    /* The plain -O2 build of the same function, which the compiler may
       inline into itself: reported beside the noinline baseline. */
    {&fib_plain_problem, fib_compute_serial_plain},
    {&nqueens_problem, nqueens_compute_serial},
    {&queens_problem, queens_compute_serial},
    {&uts_problem, uts_compute_serial},
    {&sort_problem, sort_compute_serial},
    {&matmul_problem, matmul_compute_serial},
    {&integrate_problem, integrate_compute_serial},
    {&stream_problem, stream_compute_serial},
    {&stencil_problem, stencil_compute_serial},
    {&mandel_problem, mandel_compute_serial},
    {NULL, NULL},
};

const bench_impl bench_this_impl = {
    .name = "serial",
    .start = serial_start,
    .stop = serial_stop,
    .version = serial_version,
    .kernels = serial_kernels,
};
