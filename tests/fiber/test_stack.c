/* Fiber stacks: sizes, the guard, pooling bounds, the cap, ENOMEM.
 * Acquire and release go through the fiber API (fiber_acquire prepares the
 * context; the counters come from stack.h). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fiber.h"

static void never_run(void *transfer) {
  (void)transfer;
  abort(); /* these fibers are acquired and released, never switched to */
}

static void test_sizes(void) {
  long page = sysconf(_SC_PAGESIZE);
  fiber_source s;
  CHECK(fiber_source_init(&s, 1, 4) == 0);
  CHECK(s.stack_size == FIBER_STACK_MIN); /* raised to the minimum */
  fiber_source_destroy(&s);
  CHECK(fiber_source_init(&s, FIBER_STACK_MIN + 1, 4) == 0);
  CHECK(s.stack_size == FIBER_STACK_MIN + (size_t)page); /* rounded up to pages */
  /* at least FIBER_GUARD_MIN, in whole pages (one page could be jumped by
     a large frame) */
  CHECK(s.guard_size >= FIBER_GUARD_MIN && s.guard_size % (size_t)page == 0 &&
        s.guard_size < FIBER_GUARD_MIN + (size_t)page);

  fiber_cache c;
  fiber_cache_init(&c, &s);
  fiber *f = fiber_acquire(&c, never_run);
  if (CHECK(f != NULL)) {
    CHECK(f->guard_lo + f->guard_size == f->stack_lo);
    CHECK(f->guard_lo + f->map_size >= f->stack_hi);
    CHECK(((uintptr_t)f->stack_hi & 15) == 0);
    CHECK(f->stack_size == s.stack_size);
    /* the whole stack is writable */
    f->stack_lo[0] = 1;
    f->stack_hi[-1] = 1;
    /* the guard is not, from its top byte to its bottom one: a child that
       writes to either dies of SIGSEGV */
    char *guard_bytes[2] = {f->stack_lo - 1, f->guard_lo};
    for (int g = 0; g < 2; g++) {
      fflush(NULL);
      pid_t child = fork();
      if (child == 0) {
        signal(SIGSEGV, SIG_DFL);
        *(volatile char *)guard_bytes[g] = 1;
        _exit(0);
      }
      int status = 0;
      CHECK(child > 0 && waitpid(child, &status, 0) == child);
      CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    }
    fiber_release(&c, f);
  }
  fiber_cache_destroy(&c);
  fiber_source_destroy(&s);

  CHECK(fiber_source_init(&s, 1 << 20, 0) == -1 && errno == EINVAL);
  CHECK(fiber_source_init(&s, SIZE_MAX - 10, 4) == -1 && errno == EINVAL);
}

/* Acquire/release churn through one cache maps one stack; a burst beyond
   what the cache and the pool keep is unmapped again; destroying the cache
   and the source unmaps everything. */
#ifdef TEST_TSAN
/* Each acquire renews the stack's TSan fiber handle: about 20 us with
   Clang's runtime, 1 ms with GCC 12's. */
enum { CHURN = 2000, BURST_ROUNDS = 5 };
#else
enum { CHURN = 20000, BURST_ROUNDS = 50 };
#endif

static void test_pool_bounded(void) {
  enum { BURST = 200 };
  fiber_source s;
  CHECK(fiber_source_init(&s, 16 << 10, BURST) == 0);
  fiber_cache c;
  fiber_cache_init(&c, &s);
  fiber_source_counts n;

  for (int i = 0; i < CHURN; i++) {
    fiber *f = fiber_acquire(&c, never_run);
    if (!f) break;
    fiber_release(&c, f);
  }
  fiber_source_get_counts(&s, &n);
  CHECK(n.maps == 1);
  CHECK(n.live == 0);

  static fiber *burst[BURST];
  for (int round = 0; round < BURST_ROUNDS; round++) {
    for (int i = 0; i < BURST; i++)
      burst[i] = fiber_acquire(&c, never_run);
    for (int i = 0; i < BURST; i++)
      if (burst[i]) fiber_release(&c, burst[i]);
  }
  fiber_source_get_counts(&s, &n);
  CHECK(n.live == 0);
  CHECK(n.pooled <= FIBER_POOL_BOUND);
  /* what is still mapped is what the cache and the pool keep */
  CHECK(n.maps - n.unmaps <= FIBER_CACHE_BOUND + FIBER_POOL_BOUND);
  /* and each round re-mapped at most the burst minus what was kept */
  CHECK(n.maps <= 1 + (unsigned long long)BURST_ROUNDS * BURST);
  uint64_t maps_after_first_rounds = n.maps;

  /* A second cache on another "worker" refills from the pool: no mmaps. */
  fiber_cache c2;
  fiber_cache_init(&c2, &s);
  fiber *f = fiber_acquire(&c2, never_run);
  CHECK(f != NULL);
  fiber_source_get_counts(&s, &n);
  CHECK(n.maps == maps_after_first_rounds);
  if (f) fiber_release(&c, f); /* released into another cache than its own: fine */

  fiber_cache_destroy(&c2);
  fiber_cache_destroy(&c);
  fiber_source_get_counts(&s, &n);
  CHECK(n.maps - n.unmaps == n.pooled);
  fiber_source_destroy(&s);
  /* the counters outlive destroy (the lock does not): read them directly */
  CHECK(atomic_load(&s.maps) == atomic_load(&s.unmaps));
}

/* Acquire fails with EAGAIN exactly at max_fibers, and works again after a
   release. */
static void test_cap(void) {
  enum { CAP = 37 };
  fiber_source s;
  CHECK(fiber_source_init(&s, 16 << 10, CAP) == 0);
  fiber_cache c;
  fiber_cache_init(&c, &s);
  fiber *held[CAP];
  int got = 0;
  for (int i = 0; i < CAP; i++) {
    held[i] = fiber_acquire(&c, never_run);
    got += held[i] != NULL;
  }
  CHECK(got == CAP);
  errno = 0;
  CHECK(fiber_acquire(&c, never_run) == NULL);
  CHECK(errno == EAGAIN);
  CHECK(fiber_acquire(&c, never_run) == NULL);
  fiber_source_counts n;
  fiber_source_get_counts(&s, &n);
  CHECK(n.live == CAP);
  fiber_release(&c, held[5]);
  held[5] = fiber_acquire(&c, never_run);
  CHECK(held[5] != NULL);
  CHECK(fiber_acquire(&c, never_run) == NULL);
  for (int i = 0; i < CAP; i++)
    if (held[i]) fiber_release(&c, held[i]);
  fiber_source_get_counts(&s, &n);
  CHECK(n.live == 0);
  fiber_cache_destroy(&c);
  fiber_source_destroy(&s);
}

/* A stack too large to map: NULL with ENOMEM, and the live count is not
   left raised. */
static void test_enomem(void) {
  if (SIZE_MAX >> 40 == 0) return; /* no such size on a 32-bit target */
  fiber_source s;
  /* 2^50 bytes: beyond any 48-bit user address space */
  CHECK(fiber_source_init(&s, (size_t)1 << 50, 4) == 0);
  fiber_cache c;
  fiber_cache_init(&c, &s);
  errno = 0;
  CHECK(fiber_acquire(&c, never_run) == NULL);
  CHECK(errno == ENOMEM);
  fiber_source_counts n;
  fiber_source_get_counts(&s, &n);
  CHECK(n.live == 0);
  CHECK(n.maps == 0);
  fiber_cache_destroy(&c);
  fiber_source_destroy(&s);
}

int main(void) {
  test_sizes();
  test_pool_bounded();
  test_cap();
  test_enomem();
  return check_report();
}
