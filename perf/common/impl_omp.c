/* OpenMP tasks: built twice, with GCC's libgomp (perf_gomp) and with LLVM's
   libomp (perf_iomp); BENCH_OMP_NAME tells which. */
#include <omp.h>
#include <stdio.h>

#include "bench.h"
#include "fib.h"
#include "integrate.h"
#include "loops.h"
#include "matmul.h"
#include "nqueens.h"
#include "queens.h"
#include "sort.h"
#include "uts.h"

#ifndef BENCH_OMP_NAME
#error "define BENCH_OMP_NAME (gomp or iomp)"
#endif

static int omp_start(unsigned workers, char *err, size_t errlen) {
  (void)err;
  (void)errlen;
  omp_set_dynamic(0);
  if (workers) omp_set_num_threads((int)workers);
  return 0;
}

static void omp_stop(void) {}

#define STRINGIFY2(x) #x
#define STRINGIFY(x)  STRINGIFY2(x)

static const char *omp_version(void) {
  return BENCH_OMP_NAME ", OpenMP " STRINGIFY(_OPENMP) ", " __VERSION__;
}

static const bench_kernel omp_kernels[] = {
    {&fib_problem, fib_compute_omp},
    {&spawn_problem, fib_compute_omp},
    {&nqueens_problem, nqueens_compute_omp},
    {&queens_problem, queens_compute_omp},
    {&uts_problem, uts_compute_omp},
    {&sort_problem, sort_compute_omp},
    {&matmul_problem, matmul_compute_omp},
    {&integrate_problem, integrate_compute_omp},
    {&stream_problem, stream_compute_omp_static},
    {&stencil_problem, stencil_compute_omp_static},
    {&mandel_problem, mandel_compute_omp_static},
    {&stream_dynamic_problem, stream_compute_omp_dynamic},
    {&stencil_dynamic_problem, stencil_compute_omp_dynamic},
    {&mandel_dynamic_problem, mandel_compute_omp_dynamic},
    {NULL, NULL},
};

const bench_impl bench_this_impl = {
    .name = BENCH_OMP_NAME,
    .start = omp_start,
    .stop = omp_stop,
    .version = omp_version,
    .kernels = omp_kernels,
};
