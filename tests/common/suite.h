/* Common set-up of the Criterion suites: each test starts from a clean
 * environment (no SPOOL_* configuration inherited from the shell) and runs
 * under a watchdog that names it if it hangs.
 *
 *   SPOOL_SUITE(name)  declares the suite with these fixtures and a
 *                      Criterion timeout behind the watchdog.
 *
 * Criterion runs each test in a process of its own, so tests may set
 * environment variables and leave threads behind without disturbing the
 * next one. Assertions must be made on the test's own thread only: tasks
 * record what they saw in variables that the test checks afterwards. */
#ifndef SPOOL_TEST_SUITE_H
#define SPOOL_TEST_SUITE_H

#include <criterion/criterion.h>
#include <stdlib.h>

#include "testutil.h"
#include "watchdog.h"

/* Seconds a single test may take before the watchdog aborts it. */
#define TEST_WATCHDOG_S 30.0

static inline void suite_clear_env(void) {
  static const char *const vars[] = {"SPOOL_WORKERS",    "SPOOL_BIND",           "SPOOL_STACK_SIZE",
                                     "SPOOL_MAX_FIBERS", "SPOOL_CATCH_OVERFLOW", "SPOOL_TRACE"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    unsetenv(vars[i]);
}

static inline void suite_setup(void) {
  suite_clear_env();
  watchdog_arm(TEST_WATCHDOG_S,
               criterion_current_test ? criterion_current_test->name : "a semantics test");
}

static inline void suite_teardown(void) {
  watchdog_disarm();
}

#define SPOOL_SUITE(name)                                                                          \
  TestSuite(name, .init = suite_setup, .fini = suite_teardown, .timeout = TEST_WATCHDOG_S * 25)

#endif /* SPOOL_TEST_SUITE_H */
