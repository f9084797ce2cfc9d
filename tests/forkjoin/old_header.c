/* A program built with the 0.2 header keeps working with this library.
 *
 * spool 0.2's inline fork pushed its frame into a ring through lane words
 * that the private-list protocol (0.3) no longer uses; the library keeps
 * those words at values that make such a fork and sync call the library
 * every time (runtime/deque.c, "Compatibility"). This program carries the
 * 0.2 inline path itself, word for word as that header compiled into
 * users' code (the lane read through spool__tls_lane, the old symbol), and
 * checks:
 *
 * 1. fib on one worker: right result, the forks counted, and every fork
 *    and every sync reached the library (linked with
 *    -Wl,--wrap=spool_fork,--wrap=spool_sync, meson.build): had the old
 *    path found room or found its frame, it would have written into the
 *    lane's new fields, and its frames would be lost;
 * 2. fib on two workers with thieves: right result, forks counted;
 * 3. outside a worker: the same fallback. */
#include "harness.h"

#if !(defined(__GNUC__) && (defined(__x86_64__) || defined(__aarch64__)) && defined(__ELF__) &&    \
      defined(__LP64__))
int main(void) {
  printf("the 0.2 inline path existed on x86-64 and AArch64 only: skipped\n");
  return 77;
}
#else

#include "library_calls.h"

/* ---- spool 0.2's inline path, as its header compiled it ---- */

/* Its atomic accesses are 0.2's, with 0.2's orderings and reasons (relaxed:
   the request flag, a hint thieves set; the state and the private slots,
   published to thieves by the release store of split; the statistics
   counter). With the words the library now keeps, none of them runs. */

typedef struct v02_lane {
  int64_t bottom;
  int64_t split;
  int64_t push_limit;
  int64_t mask;
  void **slots;
  const int *publish_request;
  void *frame_run;
  uint64_t forks;
  uint32_t tag;
  uint64_t frame_word;
} v02_lane;

typedef struct v02_frame {
  void *run;
  uint8_t kind;
  uint32_t tag;
  void *next;
  spool_fn fn;
  void *arg;
  void *result;
  uintptr_t state;
  int error;
} v02_frame;

#define V02_REQUEST_OFFSET (-64)

static inline v02_lane *v02_lane_self(void) {
  v02_lane *lane;
#if defined(__x86_64__)
  __asm__ __volatile__("movq spool__tls_lane@gottpoff(%%rip), %0\n\t"
                       "movq %%fs:(%0), %0"
                       : "=r"(lane)
                       :
                       : "memory");
#else
  uintptr_t offset;
  __asm__ __volatile__("mrs %0, tpidr_el0\n\t"
                       "adrp %1, :gottprel:spool__tls_lane\n\t"
                       "ldr %1, [%1, #:gottprel_lo12:spool__tls_lane]\n\t"
                       "ldr %0, [%0, %1]"
                       : "=&r"(lane), "=&r"(offset)
                       :
                       : "memory");
#endif
  return lane;
}

static inline void v02_fork(spool_task *t, spool_fn fn, void *arg) {
  v02_lane *lane = v02_lane_self();
  int64_t b = 0;
  const int *request = (const int *)(const void *)((const char *)lane + V02_REQUEST_OFFSET);
  if (__builtin_expect(!t || !fn || (b = lane->bottom) >= lane->push_limit ||
                           __atomic_load_n(request, __ATOMIC_RELAXED) != 0,
                       0)) {
    (spool_fork)(t, fn, arg); /* the library's, not spool.h's inline one */
    return;
  }
  v02_frame *fr = (v02_frame *)(void *)t;
  const uint64_t word = lane->frame_word;
  __builtin_memcpy((char *)fr + offsetof(v02_frame, kind), &word, sizeof word);
  fr->fn = fn;
  fr->arg = arg;
  __atomic_store_n(&fr->state, (uintptr_t)0, __ATOMIC_RELAXED);
  void *item = fr;
  __atomic_store_n(&lane->slots[b & lane->mask], item, __ATOMIC_RELAXED);
  lane->bottom = b + 1;
  __atomic_store_n(&lane->forks, lane->forks + 1, __ATOMIC_RELAXED);
}

static inline bool v02_take(spool_task *t) {
  v02_lane *lane = v02_lane_self();
  int64_t b = lane->bottom - 1;
  if (__builtin_expect(b < lane->split ||
                           __atomic_load_n(&lane->slots[b & lane->mask], __ATOMIC_RELAXED) != t,
                       0))
    return false;
  lane->bottom = b;
  return true;
}

static inline int v02_sync(spool_task *t, void **result) {
  if (__builtin_expect(!v02_take(t), 0)) return (spool_sync)(t, result);
  v02_frame *fr = (v02_frame *)(void *)t;
  void *r = NULL;
  int error = fr->fn(fr->arg, &r);
  if (error) r = NULL;
  if (result) *result = r;
  return error;
}

/* ---- a program written against it ---- */

static int leaf(void *arg, void **result) {
  *result = arg;
  return 0;
}

static int old_fib(void *arg, void **result) {
  intptr_t n = (intptr_t)arg;
  if (n < 2) {
    *result = arg;
    return 0;
  }
  spool_task t;
  v02_fork(&t, old_fib, (void *)(n - 1));
  void *b = NULL;
  old_fib((void *)(n - 2), &b);
  void *a = NULL;
  int rc = v02_sync(&t, &a);
  *result = (void *)((intptr_t)a + (intptr_t)b);
  return rc;
}

enum { N = 18, FIB_N = 2584, FORKS = 4180 }; /* fib(18); forks: F(19) - 1 */

static void run_fib(unsigned workers, bool all_library) {
  spool_executor *ex = harness_executor(workers);
  uint64_t f0 = harness_stats(ex).forks;
  library_calls_reset();
  void *r = NULL;
  CHECK_EQ(spool_run(ex, old_fib, HARNESS_PTR(N), &r), SPOOL_OK);
  CHECK_EQ((intptr_t)r, FIB_N);
  CHECK_EQ(harness_stats(ex).forks - f0, FORKS);
  if (all_library) {
    CHECK_EQ(atomic_load(&library_forks), FORKS);
    CHECK_EQ(atomic_load(&library_syncs), FORKS);
  }
  spool_executor_destroy(ex);
}

int main(void) {
  harness_phase("0.2 inline path, outside a worker");
  library_calls_reset();
  spool_task t;
  v02_fork(&t, leaf, HARNESS_PTR(55));
  void *r = NULL;
  CHECK_EQ(v02_sync(&t, &r), SPOOL_OK);
  CHECK_EQ((intptr_t)r, 55);
  CHECK_EQ(atomic_load(&library_forks), 1);
  CHECK_EQ(atomic_load(&library_syncs), 1);

  harness_phase("0.2 inline path, fib(18) on one worker: every call reaches the library");
  run_fib(1, true);
  harness_phase("0.2 inline path, fib(18) on two workers");
  for (int round = 0; round < 20; round++)
    run_fib(2, false);
  harness_watchdog_off();
  return harness_report();
}
#endif
