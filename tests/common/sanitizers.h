/* Which checker the test program runs under: TEST_ASAN, TEST_TSAN (from the
 * compiler), test_under_valgrind() (at run time), and
 * test_under_emulator(): SPOOL_TEST_EMULATOR set (to the emulator's name),
 * as tests/run's AArch64 stage sets it for programs run under qemu-user,
 * 10 to 50 times slower than natively. */
#ifndef SPOOL_TEST_SANITIZERS_H
#define SPOOL_TEST_SANITIZERS_H

#include <stdbool.h>
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
#define TEST_HAVE_VALGRIND_H 1
#endif
#endif

static inline bool test_under_valgrind(void) {
#ifdef TEST_HAVE_VALGRIND_H
  return RUNNING_ON_VALGRIND != 0;
#else
  return false;
#endif
}

/* Set by whoever runs the program under an emulator (qemu-user cannot be
   told from inside cheaply): the stress budgets shrink, time limits grow. */
static inline bool test_under_emulator(void) {
  const char *e = getenv("SPOOL_TEST_EMULATOR");
  return e && *e;
}

#endif /* SPOOL_TEST_SANITIZERS_H */
