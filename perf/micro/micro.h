/* Micro-benchmarks of the executor and futures (issue 3's "Benchmarks" and
 * issue 5's list):
 *
 *   submit_rt   submit a task that returns at once, wait for its result, from
 *               a thread outside the runtime: the round trip per task
 *   tree        a fire-and-forget binary tree of 2^20 - 1 tasks, each task
 *               submitting its two children, waited for with one join
 *   yield_rt    (spool) two tasks ping-pong through created futures with
 *               spool_future_yield_until_done: one suspend and one resume
 *               per task per round
 *   fib_yield / fib_block
 *               (spool) fib(27) where each call submits fib(n-1) as a task,
 *               computes fib(n-2) and waits for the future with
 *               spool_future_yield_until_done or with a blocking
 *               spool_future_result
 *
 * The per-spawn cost of fork+sync is the `spawn` kernel (fib.h); the fiber
 * switch comes from perf/fiber_switch when it is built. */
#ifndef PERF_MICRO_H
#define PERF_MICRO_H

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct submit_rt_state {
  long rounds;
  long wrong; /* round trips whose result was not the one sent */
} submit_rt_state;

#ifdef __cplusplus
#define MICRO_ALIGNAS(n) alignas(n)
#else
#define MICRO_ALIGNAS(n) _Alignas(n)
#endif
/* One counter per worker, on its own cache line, so that counting the
   tree's tasks does not itself contend. */
typedef struct tree_counter {
  MICRO_ALIGNAS(64) long tasks;
} tree_counter;

typedef struct tree_state {
  int depth; /* the root's; leaves have depth 0 */
  long expected;
  unsigned slots;         /* bench_impl.worker_slots() */
  tree_counter *counters; /* [slots] */
} tree_state;

extern const bench_problem submit_rt_problem, tree_problem;

int submit_rt_compute_spool(void *state);
int tree_compute_spool(void *state);
int submit_rt_compute_tbb(void *state);
int tree_compute_tbb(void *state);

/* spool only (micro_spool.c). */
extern const bench_problem yield_rt_problem;
int yield_rt_compute_spool(void *state);
int fib_yield_compute_spool(void *state);
int fib_block_compute_spool(void *state);

#ifdef __cplusplus
}
#endif

#endif /* PERF_MICRO_H */
