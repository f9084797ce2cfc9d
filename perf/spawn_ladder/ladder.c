/* Where a typed spawn's time goes: fib(n) built up step by step, from the
 * serial recursion to spool's typed fork-join, plus prototypes of other
 * ways to keep the owner's private frames (issue 11's "what stands in the
 * way", measured rather than counted in instructions).
 *
 * Each step is fib written with one more piece of the inline fast path of
 * spool.h than the step before; the cost of a step, per fork, is its time
 * minus the serial time over the forks (fib(n+1) - 1 of them). The steps
 * that touch the deque do so on the real lane of the worker (spool.h's
 * spool__lane_self()), so they pay the same thread-local access and reach
 * the same memory as the shipped path:
 *
 *   serial          fib(n-1) + fib(n-2), noinline (perf's serial baseline)
 *   serial n-2      the order a fork-join fib runs its calls in
 *   frame           the forked argument stored in a stack frame, read back
 *   +tls            + the two thread-local reads of the lane (fork, sync)
 *   +bottom         + bottom read and written by fork and by sync
 *   +ring           + the frame's pointer written to the ring and checked
 *                     by the sync: the shipped path minus the frame's
 *                     fields, the statistics counter and the request check
 *   typed           SPOOL_FORK / SPOOL_SYNC as shipped
 *
 * Prototypes (not the library's protocol; measurement only):
 *
 *   ring, bottom from frame
 *                   +ring, but the fork records its index in the frame and
 *                   the sync writes bottom from there, not from bottom - 1
 *   list            private frames linked through the frames (a head
 *                   pointer in the lane), no ring index at all
 *   list, all fields
 *                   list + every field the typed fork writes today
 *   list, lean      list + what a fork would still have to write if
 *                   publication filled in kind, tag, state and arg
 *
 * Safety: the deque steps push and pop in balanced pairs on the lane of a
 * ONE-worker executor, inside one task, so no thief exists and every slot
 * and index is back as it was when a step returns; the list steps keep
 * their head in the lane's `split`, saved and restored around the step.
 * That is only sound because nothing else runs on that worker meanwhile;
 * it is an experiment on the library's internals, never a pattern for
 * user code. Built only where the inline path is (x86-64, AArch64).
 *
 * Output: a table, each step's median over the repetitions (alternated, so
 * a slow moment hits every step), and `ladder_<step>_ns <ns per fork>`
 * lines for scripts.
 *
 * Usage: spawn_ladder [n (default 32)] [repetitions (default 11)] */
#include <spool.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef SPOOL_INLINE_FORK_JOIN
#error "spawn_ladder measures the inline fast path: x86-64 or AArch64, GCC or Clang"
#endif

#define NOINLINE __attribute__((noinline))

/* A frame the deque steps use: the library's frame, then the argument. */
typedef struct step_frame {
  spool_task task;
  long arg;
  int64_t index; /* the prototypes that record it */
} step_frame;

static _Noreturn void broken(const char *what) {
  fprintf(stderr, "spawn_ladder: %s (run it on a one-worker executor)\n", what);
  exit(2);
}

NOINLINE static long fib_serial(long n) {
  if (n < 2) return n;
  return fib_serial(n - 1) + fib_serial(n - 2);
}

NOINLINE static long fib_serial_n2(long n) {
  if (n < 2) return n;
  long right = fib_serial_n2(n - 2);
  return fib_serial_n2(n - 1) + right;
}

/* The compiler may not keep the argument in a register across the call. */
#define MEMORY_BARRIER() __asm__ __volatile__("" ::: "memory")

NOINLINE static long fib_frame(long n) {
  if (n < 2) return n;
  step_frame fr;
  fr.arg = n - 1;
  MEMORY_BARRIER();
  long right = fib_frame(n - 2);
  MEMORY_BARRIER();
  return fib_frame(fr.arg) + right;
}

NOINLINE static long fib_tls(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__lane *lane = spool__lane_self();
  if (lane->push_limit <= 0) broken("no worker lane");
  fr.arg = n - 1;
  long right = fib_tls(n - 2);
  lane = spool__lane_self();
  if (lane->split < 0) broken("lane changed");
  return fib_tls(fr.arg) + right;
}

NOINLINE static long fib_bottom(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__lane *lane = spool__lane_self();
  int64_t b = lane->bottom;
  if (b >= lane->push_limit) broken("ring full");
  fr.arg = n - 1;
  lane->bottom = b + 1;
  long right = fib_bottom(n - 2);
  lane = spool__lane_self();
  int64_t top = lane->bottom - 1;
  if (top < lane->split) broken("bottom below split");
  lane->bottom = top;
  return fib_bottom(fr.arg) + right;
}

NOINLINE static long fib_ring(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__lane *lane = spool__lane_self();
  int64_t b = lane->bottom;
  if (b >= lane->push_limit) broken("ring full");
  fr.arg = n - 1;
  /* relaxed: private slots, as in spool.h */
  __atomic_store_n(&lane->slots[b & lane->mask], (void *)&fr, __ATOMIC_RELAXED);
  lane->bottom = b + 1;
  long right = fib_ring(n - 2);
  lane = spool__lane_self();
  int64_t top = lane->bottom - 1;
  if (top < lane->split ||
      __atomic_load_n(&lane->slots[top & lane->mask], __ATOMIC_RELAXED) != (void *)&fr)
    broken("frame not at the bottom");
  lane->bottom = top;
  return fib_ring(fr.arg) + right;
}

static long fib_typed(long n);
SPOOL_FORKABLE(long, fib_typed, long);

NOINLINE static long fib_typed(long n) {
  if (n < 2) return n;
  spool_frame(fib_typed) frame;
  SPOOL_FORK(&frame, fib_typed, n - 1);
  long right = fib_typed(n - 2);
  return SPOOL_SYNC(&frame, fib_typed) + right;
}

/* ---- prototypes ---- */

NOINLINE static long fib_ring_indexed(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__lane *lane = spool__lane_self();
  int64_t b = lane->bottom;
  if (b >= lane->push_limit) broken("ring full");
  fr.arg = n - 1;
  fr.index = b;
  __atomic_store_n(&lane->slots[b & lane->mask], (void *)&fr, __ATOMIC_RELAXED);
  lane->bottom = b + 1;
  long right = fib_ring_indexed(n - 2);
  lane = spool__lane_self();
  int64_t index = fr.index;
  if (index < lane->split || index + 1 != lane->bottom ||
      __atomic_load_n(&lane->slots[index & lane->mask], __ATOMIC_RELAXED) != (void *)&fr)
    broken("frame not at the bottom");
  /* The new bottom comes from the frame, not from the load of bottom:
     consecutive forks and syncs no longer form one chain through memory. */
  lane->bottom = index;
  return fib_ring_indexed(fr.arg) + right;
}

/* The list steps keep the head of the private list in `split` (restored
   by run_step). */
static inline void *list_head(spool__lane *lane) {
  return (void *)(uintptr_t)lane->split;
}
static inline void list_set_head(spool__lane *lane, void *frame) {
  lane->split = (int64_t)(uintptr_t)frame;
}

NOINLINE static long fib_list(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__frame *f = (spool__frame *)(void *)&fr.task;
  spool__lane *lane = spool__lane_self();
  fr.arg = n - 1;
  f->next = list_head(lane);
  list_set_head(lane, f);
  long right = fib_list(n - 2);
  lane = spool__lane_self();
  if (list_head(lane) != f) broken("frame not at the head");
  list_set_head(lane, f->next);
  return fib_list(fr.arg) + right;
}

static int unused_run(void *frame, void **result) {
  (void)frame;
  (void)result;
  return 0;
}

static inline bool request_standing(spool__lane *lane) {
  const int *request = (const int *)(const void *)((const char *)lane + SPOOL__LANE_REQUEST_OFFSET);
  return __atomic_load_n(request, __ATOMIC_RELAXED) != 0;
}

NOINLINE static long fib_list_all(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__frame *f = (spool__frame *)(void *)&fr.task;
  spool__lane *lane = spool__lane_self();
  if (request_standing(lane)) broken("a request stands");
  const uint64_t word = lane->frame_word;
  __builtin_memcpy((char *)f + offsetof(spool__frame, kind), &word, sizeof word);
  f->fn = unused_run;
  f->arg = f;
  __atomic_store_n(&f->state, SPOOL__FRAME_PENDING, __ATOMIC_RELAXED);
  fr.arg = n - 1;
  f->next = list_head(lane);
  list_set_head(lane, f);
  __atomic_store_n(&lane->forks, lane->forks + 1, __ATOMIC_RELAXED);
  long right = fib_list_all(n - 2);
  lane = spool__lane_self();
  if (list_head(lane) != f) broken("frame not at the head");
  list_set_head(lane, f->next);
  return fib_list_all(fr.arg) + right;
}

NOINLINE static long fib_list_lean(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__frame *f = (spool__frame *)(void *)&fr.task;
  spool__lane *lane = spool__lane_self();
  if (request_standing(lane)) broken("a request stands");
  f->fn = unused_run;
  fr.arg = n - 1;
  f->next = list_head(lane);
  list_set_head(lane, f);
  __atomic_store_n(&lane->forks, lane->forks + 1, __ATOMIC_RELAXED);
  long right = fib_list_lean(n - 2);
  lane = spool__lane_self();
  if (list_head(lane) != f) broken("frame not at the head");
  list_set_head(lane, f->next);
  return fib_list_lean(fr.arg) + right;
}

/* ---- driver ---- */

typedef struct step {
  const char *name; /* in the table */
  const char *key;  /* in the ladder_<key>_ns line */
  long (*fib)(long);
  bool list; /* keeps its head in split */
} step;

static const step steps[] = {
    {"serial", "serial", fib_serial, false},
    {"serial n-2", "serial_n2", fib_serial_n2, false},
    {"frame", "frame", fib_frame, false},
    {"+tls", "tls", fib_tls, false},
    {"+bottom", "bottom", fib_bottom, false},
    {"+ring", "ring", fib_ring, false},
    {"typed", "typed", fib_typed, false},
    {"ring, bottom from frame", "proto_ring_indexed", fib_ring_indexed, false},
    {"list", "proto_list", fib_list, true},
    {"list, all fields", "proto_list_all", fib_list_all, true},
    {"list, lean", "proto_list_lean", fib_list_lean, true},
};
enum { STEPS = sizeof steps / sizeof steps[0], MAX_REPS = 101 };

typedef struct run_args {
  const step *s;
  long n, result;
} run_args;

static int run_step(void *arg, void **result) {
  (void)result;
  run_args *a = arg;
  spool__lane *lane = spool__lane_self();
  const int64_t split = lane->split, bottom = lane->bottom;
  if (a->s->list) list_set_head(lane, NULL);
  a->result = a->s->fib(a->n);
  lane->split = split;
  if (lane->bottom != bottom) broken("bottom moved");
  return 0;
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 32;
  int reps = argc > 2 ? atoi(argv[2]) : 11;
  if (n < 2 || n > 45 || reps < 1 || reps > MAX_REPS) {
    fprintf(stderr, "usage: spawn_ladder [n: 2..45] [repetitions: 1..%d]\n", MAX_REPS);
    return 2;
  }
  spool_config cfg;
  spool_config_init(&cfg);
  cfg.workers = 1;
  spool_executor *ex;
  int rc = spool_executor_create(&ex, &cfg);
  if (rc) {
    fprintf(stderr, "spawn_ladder: executor: %s\n", spool_strerror(rc));
    return 1;
  }
  static double seconds[STEPS][MAX_REPS];
  const long want = fib_serial(n);
  for (int r = 0; r < reps; r++) {
    for (int k = 0; k < STEPS; k++) {
      /* Rotated each repetition, so no step always follows the same one. */
      int i = (k + r) % STEPS;
      run_args a = {&steps[i], n, -1};
      double t0 = now_seconds();
      rc = spool_run(ex, run_step, &a, NULL);
      seconds[i][r] = now_seconds() - t0;
      if (rc || a.result != want) {
        fprintf(stderr, "spawn_ladder: %s: wrong result %ld (want %ld), code %d\n", steps[i].name,
                a.result, want, rc);
        return 1;
      }
    }
  }
  spool_executor_destroy(ex);

  /* fib(n) forks at every call with n >= 2: fib(n+1) - 1 of them. */
  long prev = 0, cur = 1;
  for (long k = 0; k < n + 1; k++) {
    long next = prev + cur;
    prev = cur;
    cur = next;
  }
  const double forks = (double)(prev - 1);
  double median[STEPS];
  for (int i = 0; i < STEPS; i++) {
    qsort(seconds[i], (size_t)reps, sizeof(double), by_value);
    median[i] = seconds[i][reps / 2];
  }
  printf("fib(%ld) on one worker, %.0f forks, median of %d alternated runs\n", n, forks, reps);
  printf("%-26s %10s %9s %14s %12s\n", "step", "ms", "x serial", "ns/fork total", "ns/fork step");
  for (int i = 0; i < STEPS; i++) {
    double total = (median[i] - median[0]) / forks * 1e9;
    /* A prototype's step is measured from +tls, the part all share. */
    int base = i == 0 ? 0 : (i <= 6 ? i - 1 : 3);
    double own = (median[i] - median[base]) / forks * 1e9;
    if (i == 7) printf("prototypes (measurement only; step from +tls):\n");
    printf("%-26s %10.2f %9.2f %14.2f %12.2f\n", steps[i].name, median[i] * 1e3,
           median[i] / median[0], total, own);
  }
  for (int i = 0; i < STEPS; i++)
    printf("ladder_%s_ns %.3f\n", steps[i].key, (median[i] - median[0]) / forks * 1e9);
  return 0;
}
