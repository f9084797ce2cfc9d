/* A minimal check harness for the fiber tests: plain main() programs, so
 * they also run under ThreadSanitizer (Criterion does not, its issue 274).
 *
 * CHECK(cond) records a pass or a failure (with the file, line and text of
 * the condition on stderr) and goes on; check_report() prints the final
 * "N passed, M failed" line and gives the exit status. The counters are
 * atomic, so threads may check too. */
#ifndef SPOOL_TEST_FIBER_CHECK_H
#define SPOOL_TEST_FIBER_CHECK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TEST_VALGRIND 1
#endif
#endif

static inline bool test_under_valgrind(void) {
#ifdef TEST_VALGRIND
  return RUNNING_ON_VALGRIND;
#else
  return false;
#endif
}

/* Around a fault a test causes on purpose: memcheck would count it as an
   error (and fail a run with --error-exitcode) although a handler catches
   it. No-ops outside valgrind. */
#ifdef TEST_VALGRIND
#define TEST_EXPECTED_FAULT_BEGIN() VALGRIND_DISABLE_ERROR_REPORTING
#define TEST_EXPECTED_FAULT_END()   VALGRIND_ENABLE_ERROR_REPORTING
#else
#define TEST_EXPECTED_FAULT_BEGIN() ((void)0)
#define TEST_EXPECTED_FAULT_END()   ((void)0)
#endif

static _Atomic(unsigned) check_passed, check_failed;

static inline bool check_record(bool ok, const char *what, const char *file, int line) {
  if (ok) {
    atomic_fetch_add_explicit(&check_passed, 1, memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(&check_failed, 1, memory_order_relaxed);
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
  }
  return ok;
}

/* Evaluates to the condition's truth, so a test can stop early. */
#define CHECK(cond) check_record((cond) ? true : false, #cond, __FILE__, __LINE__)

/* The final line, and the exit status for main(). */
static inline int check_report(void) {
  unsigned passed = atomic_load(&check_passed), failed = atomic_load(&check_failed);
  printf("%u passed, %u failed\n", passed, failed);
  fflush(stdout);
  return failed || !passed ? 1 : 0; /* a test that checked nothing failed too */
}

/* The exit status meson reads as "skipped". */
#define CHECK_SKIP 77

/* SPOOL_STRESS_SCALE: a positive integer, 1 when unset; anything else is a
   failure, so a typo never shrinks a run silently. */
static inline unsigned check_stress_scale(void) {
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

#endif /* SPOOL_TEST_FIBER_CHECK_H */
