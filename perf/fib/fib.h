/* fib: the doubly recursive Fibonacci function with a fork at every call
 * that recurses (no cutoff), the classic measure of a runtime's cost per
 * spawn. Its problems:
 *
 *   fib        fib(n) at the suite's size;
 *   fib_plain  the same, for the serial version compiled without noinline;
 *   spawn      fib on one worker against the serial fib, both timed in the
 *              same process: (parallel - serial) / forks is the cost of one
 *              fork+sync;
 *   fib_yield, fib_block
 *              fib(27) where every call submits fib(n-1) as a task and waits
 *              for its future (spool's micro-benchmarks, micro_spool.c). */
#ifndef PERF_FIB_H
#define PERF_FIB_H

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fib_state {
  int n;
  long result;   /* written by compute */
  long expected; /* computed iteratively */
  /* spawn only: the serial times measured before each parallel run, of
     fib_serial and of fib_shaped */
  int nserial;
  double serial_seconds[64], shaped_seconds[64];
} fib_state;

extern const bench_problem fib_problem, fib_plain_problem, spawn_problem, fib_yield_problem,
    fib_block_problem;

/* The number of forks of fib(n): one per call with n >= 2, F(n+1) - 1. */
long fib_forks(int n);

/* The serial baseline: the same recursion without forks, `noinline` so that
   the compiler cannot flatten it. */
long fib_serial(int n);
/* The same at plain -O2, which the compiler may inline into itself. */
long fib_serial_plain(int n);
/* The spool version (fib_spool.c) with each fork+sync replaced by a direct
   call of the forked spool_fn (int code, result through a pointer), all
   `noinline`: what that call costs, apart from fork and sync. */
long fib_shaped(long n);

/* The computes of each implementation (fib and spawn share them). */
int fib_compute_serial(void *state);
int fib_compute_serial_plain(void *state);
int fib_compute_spool(void *state);
int fib_compute_omp(void *state);
int fib_compute_tbb(void *state);

#ifdef __cplusplus
}
#endif

#endif /* PERF_FIB_H */
