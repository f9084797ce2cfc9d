/* Where a typed spawn's time goes: fib(n) built up step by step, from the
 * serial recursion to spool's typed fork-join, and the same for the
 * private ring of spool 0.2, reconstructed (issue 11's "what stands in the
 * way", measured rather than counted in instructions).
 *
 * Each step is fib written with one more piece of a fork-join fast path
 * than the step before; the cost of a step, per fork, is its time minus
 * the serial time over the forks (fib(n+1) - 1 of them). The steps that
 * touch the deque do so on the real lane of the worker (spool.h's
 * spool__lane_self()), so they pay the same thread-local access and reach
 * the same memory as the library's path:
 *
 *   serial          fib(n-1) + fib(n-2), noinline (perf's serial baseline)
 *   serial n-2      the order a fork-join fib runs its calls in
 *   frame           the forked argument stored in a stack frame, read back
 *   +tls            + the two thread-local reads of the lane (fork, sync)
 *
 * spool 0.2's private ring (bottom index, ring slots), on the lane's words
 * where 0.2 kept them:
 *   ring: +bottom   + bottom read and written by fork and by sync
 *   ring: +slot     + the frame's pointer written to the ring and checked
 *   ring: typed     + everything else 0.2's typed fork wrote (kind and
 *                   tag, function, argument, state, the statistics
 *                   counter) and its request check: 0.2's SPOOL_FORK
 *
 * The private list (since 0.3):
 *   list: +link     + the frame linked in front of the lane's head, and
 *                   unlinked by the sync
 *   typed           SPOOL_FORK / SPOOL_SYNC as shipped
 *   list: lean      a prototype: what a fork would still have to write if
 *                   publication filled in kind, tag, state and argument
 *   list: unchecked list: +link with no test at the sync: the floor of a
 *                   private list reached through the lane
 *
 * Safety: the ring steps and the list prototypes push and pop in balanced
 * pairs on the lane of a ONE-worker executor, inside one task, so no thief
 * exists; the ring steps borrow the lane's old words and head (restored
 * when the step returns). That is only sound because nothing else runs on
 * that worker meanwhile; it is an experiment on the library's internals,
 * never a pattern for user code. Built only where the inline path is
 * (x86-64, AArch64).
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
  if (lane->old_push_limit > 0) broken("ring words in use");
  fr.arg = n - 1;
  long right = fib_tls(n - 2);
  lane = spool__lane_self();
  if (lane->old_split < 0) broken("lane changed");
  return fib_tls(fr.arg) + right;
}

/* Atomic accesses: every one below is relaxed and is the same access, with
   the same ordering, as in spool.h's inline path (0.2's or the shipped
   one), so that a step costs what the library's path costs. Here nothing
   pairs with them: one worker, no thief, no stats reader meanwhile. */

/* ---- spool 0.2's ring, on the words where 0.2 kept it ----
   bottom, split, push_limit, mask and the slots pointer at the offsets of
   0.2's lane: old_bottom, old_split, old_push_limit, unused and head. */
#define RING_SLOTS 4096
static void *ring_slots[RING_SLOTS];

static inline void **ring_of(spool__lane *lane) {
  return (void **)lane->head;
}

NOINLINE static long fib_ring_bottom(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__lane *lane = spool__lane_self();
  int64_t b = lane->old_bottom;
  if (b >= lane->old_push_limit) broken("ring full");
  fr.arg = n - 1;
  lane->old_bottom = b + 1;
  long right = fib_ring_bottom(n - 2);
  lane = spool__lane_self();
  int64_t top = lane->old_bottom - 1;
  if (top < lane->old_split) broken("bottom below split");
  lane->old_bottom = top;
  return fib_ring_bottom(fr.arg) + right;
}

NOINLINE static long fib_ring_slot(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__lane *lane = spool__lane_self();
  int64_t b = lane->old_bottom;
  if (b >= lane->old_push_limit) broken("ring full");
  fr.arg = n - 1;
  /* relaxed: private slots, as in 0.2's spool.h */
  __atomic_store_n(&ring_of(lane)[b & lane->unused], (void *)&fr, __ATOMIC_RELAXED);
  lane->old_bottom = b + 1;
  long right = fib_ring_slot(n - 2);
  lane = spool__lane_self();
  int64_t top = lane->old_bottom - 1;
  if (top < lane->old_split ||
      __atomic_load_n(&ring_of(lane)[top & lane->unused], __ATOMIC_RELAXED) != (void *)&fr)
    broken("frame not at the bottom");
  lane->old_bottom = top;
  return fib_ring_slot(fr.arg) + right;
}

static int unused_run(void *frame, void **result) {
  (void)frame;
  (void)result;
  return 0;
}

static inline bool request_standing(spool__lane *lane) {
  const int *request = (const int *)(const void *)((const char *)lane + SPOOL__LANE_REQUEST_OFFSET);
  /* relaxed: spool.h's request check (thieves' store; none here) */
  return __atomic_load_n(request, __ATOMIC_RELAXED) != 0;
}

/* What 0.2's frame held (spool__frame of 0.2: the same layout). */
static inline void frame_fields(spool__lane *lane, spool__frame *f, void *arg) {
  const uint64_t word = lane->frame_word;
  __builtin_memcpy((char *)f + offsetof(spool__frame, kind), &word, sizeof word);
  f->fn = unused_run;
  f->arg = arg;
  /* relaxed: spool.h's state store (a thief's acquire after publication;
     none here) */
  __atomic_store_n(&f->state, SPOOL__FRAME_PENDING, __ATOMIC_RELAXED);
}

NOINLINE static long fib_ring_typed(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__frame *f = (spool__frame *)(void *)&fr.task;
  spool__lane *lane = spool__lane_self();
  int64_t b = lane->old_bottom;
  if (b >= lane->old_push_limit || request_standing(lane)) broken("ring full or a request");
  frame_fields(lane, f, f);
  fr.arg = n - 1;
  /* relaxed: private slots, as in 0.2's spool.h */
  __atomic_store_n(&ring_of(lane)[b & lane->unused], (void *)f, __ATOMIC_RELAXED);
  lane->old_bottom = b + 1;
  /* relaxed: spool.h's statistics counter (spool_stats_read) */
  __atomic_store_n(&lane->forks, lane->forks + 1, __ATOMIC_RELAXED);
  long right = fib_ring_typed(n - 2);
  lane = spool__lane_self();
  int64_t top = lane->old_bottom - 1;
  if (top < lane->old_split ||
      __atomic_load_n(&ring_of(lane)[top & lane->unused], __ATOMIC_RELAXED) != (void *)f)
    broken("frame not at the bottom");
  lane->old_bottom = top;
  return fib_ring_typed(fr.arg) + right;
}

/* ---- the private list ---- */

NOINLINE static long fib_list_link(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__frame *f = (spool__frame *)(void *)&fr.task;
  spool__lane *lane = spool__lane_self();
  fr.arg = n - 1;
  f->next = lane->head;
  lane->head = f;
  long right = fib_list_link(n - 2);
  lane = spool__lane_self();
  if (lane->head != f) broken("frame not at the head");
  lane->head = f->next;
  return fib_list_link(fr.arg) + right;
}

/* The floor of a private list reached through the lane: list: +link with
   no test at the sync (the frame is assumed to be the head). Unsound in a
   runtime (a stolen or published frame would be unlinked), sound here (one
   worker, no thief, no publication). What remains is the two thread-local
   reads and the head's round trip through memory at each fork and sync. */
NOINLINE static long fib_list_unchecked(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__frame *f = (spool__frame *)(void *)&fr.task;
  spool__lane *lane = spool__lane_self();
  fr.arg = n - 1;
  f->next = lane->head;
  lane->head = f;
  long right = fib_list_unchecked(n - 2);
  lane = spool__lane_self();
  lane->head = f->next;
  return fib_list_unchecked(fr.arg) + right;
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

NOINLINE static long fib_list_lean(long n) {
  if (n < 2) return n;
  step_frame fr;
  spool__frame *f = (spool__frame *)(void *)&fr.task;
  spool__lane *lane = spool__lane_self();
  if (request_standing(lane)) broken("a request stands");
  f->fn = unused_run;
  fr.arg = n - 1;
  f->next = lane->head;
  lane->head = f;
  /* relaxed: spool.h's statistics counter (spool_stats_read) */
  __atomic_store_n(&lane->forks, lane->forks + 1, __ATOMIC_RELAXED);
  long right = fib_list_lean(n - 2);
  lane = spool__lane_self();
  if (lane->head != f) broken("frame not at the head");
  lane->head = f->next;
  return fib_list_lean(fr.arg) + right;
}

/* ---- driver ---- */

typedef struct step {
  const char *name; /* in the table */
  const char *key;  /* in the ladder_<key>_ns line */
  long (*fib)(long);
  int base;  /* the step this one adds to (its "step" column) */
  bool ring; /* borrows the lane's old words */
} step;

static const step steps[] = {
    {"serial", "serial", fib_serial, 0, false},
    {"serial n-2", "serial_n2", fib_serial_n2, 0, false},
    {"frame", "frame", fib_frame, 1, false},
    {"+tls", "tls", fib_tls, 2, false},
    {"ring: +bottom", "ring_bottom", fib_ring_bottom, 3, true},
    {"ring: +slot", "ring_slot", fib_ring_slot, 4, true},
    {"ring: typed (0.2)", "ring_typed", fib_ring_typed, 5, true},
    {"list: +link", "list_link", fib_list_link, 3, false},
    {"typed (shipped)", "typed", fib_typed, 7, false},
    {"list: lean (prototype)", "list_lean", fib_list_lean, 7, false},
    {"list: unchecked (floor)", "list_unchecked", fib_list_unchecked, 7, false},
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
  const spool__lane saved = *lane;
  if (a->s->ring) {
    lane->old_bottom = 0;
    lane->old_split = 0;
    lane->old_push_limit = RING_SLOTS;
    lane->unused = RING_SLOTS - 1;
    lane->head = ring_slots;
  }
  a->result = a->s->fib(a->n);
  if (a->s->ring && lane->old_bottom != 0) broken("ring bottom moved");
  if (!a->s->ring && lane->head != saved.head) broken("head moved");
  lane->old_bottom = saved.old_bottom;
  lane->old_split = saved.old_split;
  lane->old_push_limit = saved.old_push_limit;
  lane->unused = saved.unused;
  lane->head = saved.head;
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
  printf("%-24s %9s %9s %14s %22s\n", "step", "ms", "x serial", "ns/fork total",
         "ns/fork step (from)");
  for (int i = 0; i < STEPS; i++) {
    double total = (median[i] - median[0]) / forks * 1e9;
    double own = (median[i] - median[steps[i].base]) / forks * 1e9;
    printf("%-24s %9.2f %9.2f %14.2f %12.2f (%s)\n", steps[i].name, median[i] * 1e3,
           median[i] / median[0], total, own, steps[steps[i].base].name);
  }
  for (int i = 0; i < STEPS; i++)
    printf("ladder_%s_ns %.3f\n", steps[i].key, (median[i] - median[0]) / forks * 1e9);
  return 0;
}
