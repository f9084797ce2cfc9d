/* The harness of the stress programs: plain main() programs (they run
 * under ThreadSanitizer, which Criterion does not survive).
 *
 *   CHECK(cond)         records a pass or a failure (file, line and the
 *                       condition on stderr), from any thread, and gives
 *                       the condition's value
 *   CHECKF(cond, ...)   the same with a printf-style explanation
 *   VERIFY(cond)        for hot loops: records failures only
 *   stress_report()     prints "N passed, M failed", returns the exit status
 *   stress_scale()      SPOOL_STRESS_SCALE (default 1; a malformed value is
 *                       an error, never silently 1)
 *   stress_budget(n)    n scaled, and reduced under valgrind, which runs
 *                       threads one at a time, and under an emulator
 *
 * A failing CHECK inside a loop reports the first few failures only, so a
 * broken invariant does not print a million lines. */
#ifndef SPOOL_TEST_STRESS_H
#define SPOOL_TEST_STRESS_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sanitizers.h"
#include "testutil.h"
#include "watchdog.h"

static atomic_long stress_passed, stress_failed;

#define STRESS_MAX_REPORTS 20

static inline bool stress_record(bool ok, const char *file, int line, const char *what,
                                 const char *fmt, ...) {
  if (ok) {
    atomic_fetch_add_explicit(&stress_passed, 1, memory_order_relaxed);
    return true;
  }
  long n = atomic_fetch_add(&stress_failed, 1);
  if (n < STRESS_MAX_REPORTS) {
    char msg[256] = "";
    if (fmt) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(msg, sizeof msg, fmt, ap);
      va_end(ap);
    }
    fprintf(stderr, "%s:%d: check failed: %s%s%s\n", file, line, what, fmt ? ": " : "", msg);
  } else if (n == STRESS_MAX_REPORTS) {
    fprintf(stderr, "(further failures not shown)\n");
  }
  return false;
}

#define CHECK(cond) stress_record((cond) ? true : false, __FILE__, __LINE__, #cond, NULL)
#define CHECKF(cond, ...)                                                                          \
  stress_record((cond) ? true : false, __FILE__, __LINE__, #cond, __VA_ARGS__)
/* For hot loops: records failures only (no shared counter touched on
   success); an aggregate CHECK afterwards counts the pass. */
#define VERIFY(cond) ((cond) ? true : stress_record(false, __FILE__, __LINE__, #cond, NULL))
#define VERIFYF(cond, ...)                                                                         \
  ((cond) ? true : stress_record(false, __FILE__, __LINE__, #cond, __VA_ARGS__))

static inline int stress_report(void) {
  watchdog_stop();
  long passed = atomic_load(&stress_passed), failed = atomic_load(&stress_failed);
  printf("%ld passed, %ld failed\n", passed, failed);
  fflush(stdout);
  return failed || !passed ? 1 : 0; /* a program that checked nothing failed too */
}

static inline unsigned stress_scale(void) {
  const char *s = getenv("SPOOL_STRESS_SCALE");
  if (!s) return 1;
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  if (*s < '0' || *s > '9' || *end || v == 0 || v > 100000) {
    fprintf(stderr, "SPOOL_STRESS_SCALE=\"%s\": not a positive integer\n", s);
    exit(2);
  }
  return (unsigned)v;
}

/* n at scale 1, times the scale; a tenth under valgrind or an emulator
   (at least 1). */
static inline long stress_budget(long n) {
  long v = n * (long)stress_scale();
  if (test_under_valgrind() || test_under_emulator()) v /= 10;
  return v < 1 ? 1 : v;
}

/* Whether a bounded wait that began at t0 ran into its `limit`: a wait can
   still return success then (it re-checks after its timeout fires), so a
   lost wake-up shows as a wait as long as its timeout. */
static inline bool stress_hit_limit(double t0, double limit) {
  return now_s() - t0 >= limit * 0.95;
}

/* A small, fast, per-thread random generator (xorshift64*). */
static inline uint64_t stress_rand(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

/* Announces a phase on stderr and re-arms the watchdog for it. */
static inline void stress_phase(const char *name, double seconds) {
  fprintf(stderr, "-- %s\n", name);
  watchdog_arm(seconds, name);
}

#endif /* SPOOL_TEST_STRESS_H */
