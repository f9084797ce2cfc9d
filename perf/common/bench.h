/* The harness shared by every benchmark binary of perf/.
 *
 * One binary per implementation (perf_spool, perf_serial, perf_tbb,
 * perf_gomp, perf_iomp) links the problems of every kernel (inputs, checks,
 * serial leaves: perf/<kernel>/<kernel>.c, compiled once by the C compiler of
 * the project) and its own parallel versions of them
 * (perf/<kernel>/<kernel>_<impl>.c). The binary runs one kernel at one size
 * and worker count per invocation, checks every result, and prints one line
 *
 *   BENCH {"kernel":...,"impl":...,"seconds":...,"check":"ok",...}
 *
 * that perf/suite.py collects. Exit status: 0 ok, 2 wrong answer or runtime
 * error, 3 not supported by this implementation (reported as n/a), 1 usage. */
#ifndef PERF_BENCH_H
#define PERF_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_EXIT_OK     0
#define BENCH_EXIT_USAGE  1
#define BENCH_EXIT_FAIL   2
#define BENCH_EXIT_NA     3
#define BENCH_MAX_METRICS 8
#define BENCH_TEXT        160

/* What a kernel tells the harness after its runs. */
typedef struct bench_report {
  char params[BENCH_TEXT]; /* the problem, e.g. "n=32" */
  char value[BENCH_TEXT];  /* the computed answer, printed for the record */
  int nmetrics;
  struct {
    const char *name; /* e.g. "ns_per_spawn"; lower is better for every metric */
    double value;
  } metrics[BENCH_MAX_METRICS];
} bench_report;

/* A kernel's problem, shared by every implementation: input, check and
   report. perf/<kernel>/<kernel>.c defines it. */
typedef struct bench_problem {
  const char *name;
  /* Builds the input for `size` (tiny, small, full, large). Returns 0, or
     nonzero with a message in err. Untimed. */
  int (*prepare)(const char *size, void **state, char *err, size_t errlen);
  /* Restores the input before each timed run (NULL: nothing to restore). */
  void (*reset)(void *state);
  /* 0 when the last compute's answer is right; else nonzero and a message. */
  int (*check)(void *state, char *msg, size_t msglen);
  /* Fills params, value and the kernel's own metrics (may be NULL). */
  void (*report)(void *state, double median_seconds, bench_report *r);
  void (*release)(void *state);
} bench_problem;

/* One kernel of one implementation: the problem and its parallel (or
   serial) solution, the only timed call. compute returns 0, or a runtime
   error code (see bench_impl.strerror), or BENCH_UNSUPPORTED. */
typedef struct bench_kernel {
  const bench_problem *problem;
  int (*compute)(void *state);
} bench_kernel;

/* compute's answer for "this implementation cannot do that here"; the
   kernel puts the reason with bench_set_unsupported(). */
#define BENCH_UNSUPPORTED (-424242)
void bench_set_unsupported(const char *why);

/* The implementation a binary was built for. */
typedef struct bench_impl {
  const char *name;
  /* Starts the runtime with `workers` threads (0: its default). */
  int (*start)(unsigned workers, char *err, size_t errlen);
  void (*stop)(void);
  const char *(*strerror)(int code);
  const char *(*version)(void);
  /* One past the largest worker index the runtime reports while running
     `workers` workers (for per-worker counters); NULL: no such index. */
  unsigned (*worker_slots)(void);
  /* Calls compute(state) where the runtime wants its work started (NULL:
     directly); the call is what is timed. */
  int (*run)(int (*compute)(void *state), void *state);
  const bench_kernel *kernels; /* ends with {NULL, NULL} */
} bench_impl;

extern const bench_impl bench_this_impl;

/* The worker count the binary was started with (for kernels that size
   per-worker arrays). */
unsigned bench_workers(void);

/* Monotonic clock, seconds. */
double bench_now(void);

/* Index of `size` in {tiny, small, full, large}, or -1. Kernels keep their
   sizes in arrays of four, in that order. */
int bench_size_index(const char *size);

/* Sorts v[0..n) and returns its median. */
double bench_median(double *v, size_t n);

/* A small deterministic generator for inputs (xorshift64*). */
static inline uint64_t bench_rand_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

/* Keeps the compiler from discarding a value computed only for timing. */
void bench_consume(uint64_t v);

#ifdef __cplusplus
}
#endif

#endif /* PERF_BENCH_H */
