/* A counting allocator for the no-allocation tests: malloc, calloc,
 * realloc and the aligned allocators, defined here and forwarding to
 * glibc's __libc_* entry points, count their calls (relaxed: a count read
 * after the measured work, on the same thread or after a join). Include
 * once, from the test program's main file. Not interposed under
 * AddressSanitizer or ThreadSanitizer (INTERPOSED 0), which own the
 * allocator. */
#ifndef SPOOL_TEST_COUNTING_ALLOCATOR_H
#define SPOOL_TEST_COUNTING_ALLOCATOR_H

#include <errno.h>
#include <stdatomic.h>

#include "harness.h"

#if defined(HARNESS_ASAN) || defined(HARNESS_TSAN)
#define INTERPOSED 0
#else
#define INTERPOSED 1
#endif

static _Atomic unsigned long allocations;

#if INTERPOSED
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static void counted(void) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}
void *malloc(size_t size) {
  counted();
  return __libc_malloc(size);
}
void *calloc(size_t n, size_t size) {
  counted();
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t size) {
  counted();
  return __libc_realloc(p, size);
}
void *memalign(size_t alignment, size_t size) {
  counted();
  return __libc_memalign(alignment, size);
}
void *aligned_alloc(size_t alignment, size_t size) {
  counted();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void **out, size_t alignment, size_t size) {
  counted();
  if (alignment < sizeof(void *) || (alignment & (alignment - 1))) return EINVAL;
  void *p = __libc_memalign(alignment, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
#endif

static unsigned long allocated(void) {
  return atomic_load_explicit(&allocations, memory_order_relaxed);
}

#endif /* SPOOL_TEST_COUNTING_ALLOCATOR_H */
