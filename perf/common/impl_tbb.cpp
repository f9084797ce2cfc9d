// oneTBB task_group, in a task_arena of the requested workers.
#include <algorithm>
#include <memory>
#include <stdio.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/version.h>

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

// The work runs in an arena of `workers` threads (the calling one among
// them); the global_control lets TBB start that many even beyond the
// hardware's count, as spool and OpenMP do.
static std::unique_ptr<tbb::global_control> tbb_limit;
static std::unique_ptr<tbb::task_arena> tbb_arena;

static int tbb_start(unsigned workers, char *, size_t) {
  if (workers) {
    tbb_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                      workers);
    tbb_arena = std::make_unique<tbb::task_arena>(static_cast<int>(workers));
  } else {
    tbb_arena = std::make_unique<tbb::task_arena>();
  }
  return 0;
}

static void tbb_stop(void) {
  tbb_arena.reset();
  tbb_limit.reset();
}

static int tbb_run(int (*compute)(void *), void *state) {
  return tbb_arena->execute([compute, state] { return compute(state); });
}

static const char *tbb_version(void) {
  static char text[64];
  snprintf(text, sizeof text, "oneTBB %s (interface %d)", TBB_VERSION_STRING,
           TBB_runtime_interface_version());
  return text;
}

// Thread indices in an arena lie below its concurrency.
static unsigned tbb_worker_slots(void) {
  return static_cast<unsigned>(std::max(tbb_arena->max_concurrency(), 1));
}

// One kernel per line (clang-format would pack thirteen and more).
// clang-format off
static const bench_kernel tbb_kernels[] = {
    {&fib_problem, fib_compute_tbb},
    {&spawn_problem, fib_compute_tbb},
    {&nqueens_problem, nqueens_compute_tbb},
    {&queens_problem, queens_compute_tbb},
    {&uts_problem, uts_compute_tbb},
    {&sort_problem, sort_compute_tbb},
    {&matmul_problem, matmul_compute_tbb},
    {&integrate_problem, integrate_compute_tbb},
    {&stream_problem, stream_compute_tbb},
    {&stencil_problem, stencil_compute_tbb},
    {&mandel_problem, mandel_compute_tbb},
    {&submit_rt_problem, submit_rt_compute_tbb},
    {&tree_problem, tree_compute_tbb},
    {nullptr, nullptr},
};
// clang-format on

extern "C" const bench_impl bench_this_impl = {
    "tbb", tbb_start, tbb_stop, nullptr, tbb_version, tbb_worker_slots, tbb_run, tbb_kernels,
};
