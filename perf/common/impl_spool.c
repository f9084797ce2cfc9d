/* The spool implementation: an executor with the requested workers. */
#include "impl_spool.h"

#include <stdio.h>

#include "bench.h"
#include "fib.h"
#include "integrate.h"
#include "loops.h"
#include "matmul.h"
#include "micro.h"
#include "nqueens.h"
#include "queens.h"
#include "sort.h"
#include "uts.h"

spool_executor *bench_spool;

static int spool_start(unsigned workers, char *err, size_t errlen) {
  spool_config config;
  spool_config_init(&config);
  if (workers) config.workers = workers;
  int rc = spool_executor_create(&bench_spool, &config);
  if (rc) snprintf(err, errlen, "spool_executor_create: %s", spool_strerror(rc));
  return rc;
}

static void spool_stop(void) {
  spool_executor_destroy(bench_spool);
  bench_spool = NULL;
}

#define STRINGIFY2(x) #x
#define STRINGIFY(x)  STRINGIFY2(x)

static const char *spool_version(void) {
  return "spool " STRINGIFY(SPOOL_VERSION_MAJOR) "." STRINGIFY(SPOOL_VERSION_MINOR) "." STRINGIFY(
      SPOOL_VERSION_PATCH);
}

static unsigned spool_worker_slots(void) {
  return spool_executor_workers(bench_spool);
}

static const bench_kernel spool_kernels[] = {
    {&fib_problem, fib_compute_spool},
    {&spawn_problem, fib_compute_spool},
    {&nqueens_problem, nqueens_compute_spool},
    {&queens_problem, queens_compute_spool},
    {&uts_problem, uts_compute_spool},
    {&sort_problem, sort_compute_spool},
    {&matmul_problem, matmul_compute_spool},
    {&integrate_problem, integrate_compute_spool},
    {&stream_problem, stream_compute_spool},
    {&stencil_problem, stencil_compute_spool},
    {&mandel_problem, mandel_compute_spool},
    {&loop_overhead_problem, loop_overhead_compute_spool},
    {&map_problem, map_compute_spool},
    {&submit_copy_problem, submit_copy_compute_spool},
    {&submit_rt_problem, submit_rt_compute_spool},
    {&tree_problem, tree_compute_spool},
    {&yield_rt_problem, yield_rt_compute_spool},
    {&fib_yield_problem, fib_yield_compute_spool},
    {&fib_block_problem, fib_block_compute_spool},
    {NULL, NULL},
};

const bench_impl bench_this_impl = {
#ifdef PERF_SPOOL_FN
    .name = "spool-fn", /* the kernels written with spool_fork / spool_sync */
#else
    .name = "spool", /* the kernels written with typed fork-join */
#endif
    .start = spool_start,
    .stop = spool_stop,
    .strerror = spool_strerror,
    .version = spool_version,
    .worker_slots = spool_worker_slots,
    .kernels = spool_kernels,
};
