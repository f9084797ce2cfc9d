/* The harness of the suspension and fork-join tests (tests/suspend,
 * tests/forkjoin): plain main() programs, so that they run in every build,
 * ThreadSanitizer's included (Criterion aborts under TSan, its issue 274).
 *
 *   CHECK(cond)            records a pass or a failure (file, line, text on
 *                          stderr) and goes on; evaluates to cond's truth
 *   CHECK_EQ(a, b)         the same for two integers, printing both
 *   harness_phase(name)    names the running phase and re-arms the watchdog:
 *                          a phase that does not finish in time prints its
 *                          name and aborts, so a hang fails loudly
 *   HARNESS_UNTIL(cond, s) polls cond (yielding the CPU) for at most s
 *                          seconds; true if it became true. Used to wait for
 *                          a state the test must observe (a task suspended:
 *                          the `suspends` statistic), never as a sleep
 *   harness_run_child(body, out)
 *                          runs body() in a forked child (call it while the
 *                          process has no other thread); captures the
 *                          child's stderr and exit status;
 *                          harness_child_succeeds(body) checks it exits 0
 *   harness_report()       prints the final "N passed, M failed" line and
 *                          gives main()'s exit status
 *
 * Time limits scale with SPOOL_STRESS_SCALE (a positive integer, default 1)
 * and are tripled under ThreadSanitizer, and ten times longer under valgrind
 * and under an emulator (SPOOL_TEST_EMULATOR set: tests/run's AArch64
 * stage under qemu-user). */
#ifndef SPOOL_TEST_HARNESS_H
#define SPOOL_TEST_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spool.h"

/* The build says where spool.h's inline fork-join path must be on
   (tests/forkjoin/meson.build), so that a header that silently turned it
   off does not leave the "inline" programs testing the library calls. */
#if defined(SPOOL_TEST_EXPECT_INLINE) && !defined(SPOOL_INLINE_FORK_JOIN)
#error "spool.h's inline fork-join fast path is off where it is expected"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define HARNESS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HARNESS_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define HARNESS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HARNESS_TSAN 1
#endif
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HARNESS_VALGRIND_H 1
#endif
#endif

/* The exit status meson reads as "skipped". */
#define HARNESS_SKIP 77

static inline bool harness_under_valgrind(void) {
#ifdef HARNESS_VALGRIND_H
  return RUNNING_ON_VALGRIND;
#else
  return false;
#endif
}

/* SPOOL_TEST_EMULATOR set: the program runs under an emulator (qemu-user). */
static inline bool harness_under_emulator(void) {
  const char *e = getenv("SPOOL_TEST_EMULATOR");
  return e && *e;
}

/* ---- Checks -------------------------------------------------------------- */

static _Atomic unsigned harness_passed, harness_failed;

static inline bool harness_record(bool ok, const char *what, const char *file, int line) {
  if (ok) {
    atomic_fetch_add_explicit(&harness_passed, 1, memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(&harness_failed, 1, memory_order_relaxed);
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
  }
  return ok;
}

#define CHECK(cond) harness_record((cond) ? true : false, #cond, __FILE__, __LINE__)

static inline bool harness_record_eq(long long a, long long b, const char *sa, const char *sb,
                                     const char *file, int line) {
  if (a == b) return harness_record(true, "", file, line);
  atomic_fetch_add_explicit(&harness_failed, 1, memory_order_relaxed);
  fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", file, line, sa, sb, a, b);
  return false;
}

#define CHECK_EQ(a, b) harness_record_eq((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)

static inline unsigned harness_failures(void) {
  return atomic_load_explicit(&harness_failed, memory_order_relaxed);
}

static inline int harness_report(void) {
  unsigned passed = atomic_load(&harness_passed), failed = atomic_load(&harness_failed);
  printf("%u passed, %u failed\n", passed, failed);
  fflush(stdout);
  return failed || !passed ? 1 : 0; /* a program that checked nothing failed too */
}

/* ---- Scale and time ------------------------------------------------------ */

/* SPOOL_STRESS_SCALE: a positive integer, 1 when unset; anything else is an
   error, so a typo never shrinks a run silently. */
static inline unsigned harness_scale(void) {
  const char *s = getenv("SPOOL_STRESS_SCALE");
  if (!s) return 1;
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  if (*s < '0' || *s > '9' || *end || v == 0 || v > 1000000) {
    fprintf(stderr, "SPOOL_STRESS_SCALE=%s: not a positive integer\n", s);
    exit(2);
  }
  return (unsigned)v;
}

/* How much slower than a plain build this one runs. */
static inline unsigned harness_slowness(void) {
#ifdef HARNESS_TSAN
  return 3;
#else
  return harness_under_valgrind() || harness_under_emulator() ? 10 : 1;
#endif
}

static inline double harness_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Polls `cond` for at most `seconds` (scaled by the build's slowness). */
#define HARNESS_UNTIL(cond, seconds)                                                               \
  __extension__({                                                                                  \
    double harness_deadline_ = harness_now() + (seconds) * (double)harness_slowness();             \
    bool harness_ok_;                                                                              \
    while (!(harness_ok_ = (cond)) && harness_now() < harness_deadline_)                           \
      sched_yield();                                                                               \
    harness_ok_;                                                                                   \
  })

/* Spins on `cond` inside a task (no yield of the CPU needed, but polite). */
static inline void harness_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* ---- Watchdog ------------------------------------------------------------ */

static const char *volatile harness_phase_name = "start-up";
static volatile unsigned harness_phase_limit;

static void harness_watchdog_fired(int sig) {
  (void)sig;
  /* async-signal-safe: write(2) and abort() only */
  static const char head[] = "\nwatchdog: phase \"";
  static const char tail[] = "\" did not finish in time (a hang); aborting\n";
  const char *name = harness_phase_name;
  ssize_t ignored = write(STDERR_FILENO, head, sizeof head - 1);
  ignored = write(STDERR_FILENO, name, strlen(name));
  ignored = write(STDERR_FILENO, tail, sizeof tail - 1);
  (void)ignored;
  abort();
}

/* Names the phase and gives it `seconds` (scaled) before the watchdog fires.
   Workers block asynchronous signals, so SIGALRM reaches a program thread. */
static inline void harness_phase_limited(const char *name, unsigned seconds) {
  static bool installed;
  if (!installed) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = harness_watchdog_fired;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    installed = true;
  }
  harness_phase_name = name;
  harness_phase_limit = seconds * harness_scale() * harness_slowness();
  alarm(harness_phase_limit);
  if (getenv("HARNESS_VERBOSE")) fprintf(stderr, "-- %s\n", name);
}

static inline void harness_phase(const char *name) {
  harness_phase_limited(name, 30);
}

static inline void harness_watchdog_off(void) {
  alarm(0);
}

/* ---- Executors ----------------------------------------------------------- */

/* pthread_self() through a pointer the optimiser cannot see through: glibc
   declares pthread_self() const, so GCC and Clang may reuse a value computed
   before a migration point (DESIGN.md "Migration across threads"). */
static pthread_t (*volatile harness_pthread_self)(void) = pthread_self;

/* The thread of each worker of the executor made by harness_executor(),
   recorded by the initializer on the worker's own thread. */
#define HARNESS_MAX_WORKERS 16
static pthread_t harness_worker_thread[HARNESS_MAX_WORKERS];
static _Atomic unsigned harness_initialised;

static inline int harness_record_worker(void *arg) {
  (void)arg;
  int w = spool_current_worker();
  if (w < 0 || w >= HARNESS_MAX_WORKERS) return 1;
  harness_worker_thread[w] = pthread_self();
  /* release: the executor's start-up orders it anyway; this makes the
     publication explicit for readers that check the count */
  atomic_fetch_add_explicit(&harness_initialised, 1, memory_order_release);
  return 0;
}

typedef struct harness_options {
  unsigned max_fibers;     /* 0: default */
  size_t fiber_stack_size; /* 0: default */
} harness_options;

/* An executor with `workers` workers whose threads are recorded in
   harness_worker_thread[]; aborts the program if it cannot be made. */
static inline spool_executor *harness_executor_opt(unsigned workers, harness_options opt) {
  spool_config c;
  spool_config_init(&c);
  c.workers = workers;
  if (opt.max_fibers) c.max_fibers = opt.max_fibers;
  if (opt.fiber_stack_size) c.fiber_stack_size = opt.fiber_stack_size;
  c.initializer = harness_record_worker;
  spool_executor *ex = NULL;
  int rc = spool_executor_create(&ex, &c);
  if (rc != SPOOL_OK || !ex || spool_executor_workers(ex) != workers) {
    fprintf(stderr, "cannot create an executor of %u workers: %s\n", workers, spool_strerror(rc));
    abort();
  }
  return ex;
}

static inline spool_executor *harness_executor(unsigned workers) {
  return harness_executor_opt(workers, (harness_options){0, 0});
}

static inline spool_stats harness_stats(spool_executor *ex) {
  spool_stats s;
  memset(&s, 0, sizeof s);
  if (spool_stats_read(ex, -1, &s) != SPOOL_OK) abort();
  return s;
}

static inline uint64_t harness_suspends(spool_executor *ex) {
  return harness_stats(ex).suspends;
}

/* A created future, or abort. */
static inline spool_future *harness_created(void) {
  spool_future *f = NULL;
  if (spool_future_create(&f) != SPOOL_OK || !f) abort();
  return f;
}

/* Submits or aborts: the tests' own set-up must not fail silently. */
static inline spool_future *harness_submit(spool_executor *ex, spool_fn fn, void *arg) {
  spool_future *f = NULL;
  int rc = spool_submit(ex, fn, arg, &f);
  if (rc != SPOOL_OK || !f) {
    fprintf(stderr, "spool_submit failed: %s\n", spool_strerror(rc));
    abort();
  }
  return f;
}

/* A blocker: a task that keeps its worker busy until the test releases it,
   so that later tasks wait in the queue. */
typedef struct harness_blocker {
  /* release/acquire: the task's announcement that it runs (to
     harness_blocker_start()), and harness_blocker_release()'s permission
     to return (to the task). */
  _Atomic int running, released;
} harness_blocker;

static inline int harness_blocker_task(void *arg, void **result) {
  harness_blocker *b = arg;
  (void)result;
  atomic_store_explicit(&b->running, 1, memory_order_release);
  while (!atomic_load_explicit(&b->released, memory_order_acquire))
    sched_yield();
  return 0;
}

/* Submits the blocker to ex and waits until a worker runs it; returns its
   future (the task returns 0 once released). */
static inline spool_future *harness_blocker_start(spool_executor *ex, harness_blocker *b) {
  /* relaxed: before the submit, which publishes them to the task */
  atomic_store_explicit(&b->running, 0, memory_order_relaxed);
  atomic_store_explicit(&b->released, 0, memory_order_relaxed);
  spool_future *f = harness_submit(ex, harness_blocker_task, b);
  CHECK(HARNESS_UNTIL(atomic_load_explicit(&b->running, memory_order_acquire), 30));
  return f;
}

static inline void harness_blocker_release(harness_blocker *b) {
  atomic_store_explicit(&b->released, 1, memory_order_release);
}

/* The result of a future as an integer; -99999 on any error. */
static inline intptr_t harness_result(spool_future *f, double timeout) {
  void *r = NULL;
  int rc = spool_future_result(f, timeout, &r);
  if (rc != SPOOL_OK) {
    fprintf(stderr, "spool_future_result: %d (%s)\n", rc, spool_strerror(rc));
    return -99999;
  }
  return (intptr_t)r;
}

/* Waits for each of fs[0..n), releases it, and returns how many returned
   0 with SPOOL_OK. */
static inline unsigned harness_collect_zeros(spool_future **fs, unsigned n) {
  unsigned zeros = 0;
  for (unsigned i = 0; i < n; i++) {
    zeros += harness_result(fs[i], SPOOL_FOREVER) == 0;
    spool_future_release(fs[i]);
  }
  return zeros;
}

#define HARNESS_PTR(v) ((void *)(intptr_t)(v))

/* ---- fib, the fork-join workhorse of the tests ---------------------------- */

static inline intptr_t harness_fib_serial(intptr_t n) {
  return n < 2 ? n : harness_fib_serial(n - 1) + harness_fib_serial(n - 2);
}

/* A spool_fn: fork fib(n-1), run fib(n-2), sync; a fork at every call. It
   uses whichever fork-join path the including program is built with. */
static inline int harness_fib(void *arg, void **result) {
  intptr_t n = (intptr_t)arg;
  if (n < 2) {
    *result = HARNESS_PTR(n);
    return 0;
  }
  spool_task t;
  void *a = NULL, *b = NULL;
  spool_fork(&t, harness_fib, HARNESS_PTR(n - 1));
  int rc = harness_fib(HARNESS_PTR(n - 2), &b);
  int rc2 = spool_sync(&t, &a);
  *result = HARNESS_PTR((intptr_t)a + (intptr_t)b);
  return rc ? rc : rc2;
}

/* Prints which fork-join path this program was built with. */
static inline void harness_print_fork_join_path(void) {
#ifdef SPOOL_INLINE_FORK_JOIN
  printf("fork-join: spool.h's inline fast path\n");
#else
  printf("fork-join: the library's functions\n");
#endif
}

/* ---- Children ------------------------------------------------------------ */

typedef struct child_outcome {
  int status;
  char err[4096];
} child_outcome;

/* Runs body() in a child (which must end with _exit or die); captures its
   stderr and exit status. */
static inline bool harness_run_child(void (*body)(void), child_outcome *out) {
  memset(out, 0, sizeof *out);
  int fds[2];
  if (!CHECK(pipe(fds) == 0)) return false;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(0);
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    alarm(20 * harness_slowness()); /* the child's own watchdog */
    body();
    _exit(0);
  }
  close(fds[1]);
  if (!CHECK(pid > 0)) return false;
  /* Read to the end (what does not fit is dropped), so a chatty child never
     blocks on a full pipe. */
  size_t have = 0;
  char spill[512];
  for (;;) {
    bool full = have == sizeof out->err - 1;
    ssize_t n = full ? read(fds[0], spill, sizeof spill)
                     : read(fds[0], out->err + have, sizeof out->err - 1 - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!full) have += (size_t)n;
  }
  close(fds[0]);
  pid_t w;
  do
    w = waitpid(pid, &out->status, 0);
  while (w < 0 && errno == EINTR);
  return CHECK(w == pid);
}

/* Runs body() in a child and checks that it exits with status 0 (printing
   its status and stderr otherwise). */
static inline void harness_child_succeeds(void (*body)(void)) {
  child_outcome out;
  if (!harness_run_child(body, &out)) return;
  if (!CHECK(WIFEXITED(out.status) && WEXITSTATUS(out.status) == 0))
    fprintf(stderr, "child status %#x (exit %d), stderr:\n%s\n", out.status,
            WIFEXITED(out.status) ? WEXITSTATUS(out.status) : -1, out.err);
}

#endif /* SPOOL_TEST_HARNESS_H */
