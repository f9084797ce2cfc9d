/* Regression (issue 9, defect 12): a worker whose alternate signal stack
 * cannot be mapped used to run without stack-overflow detection, silently.
 * Now, with catch_stack_overflow, creation fails with SPOOL_ENOMEM (and
 * leaves nothing behind); without it, the alternate stack is not needed.
 *
 * The library's mmap (mmap64: meson builds with 64-bit file offsets) is
 * wrapped (ld --wrap, meson.build): mappings of the
 * alternate stack's size (64 KiB, or SIGSTKSZ if larger, plus a guard page)
 * fail while `fail_altstack` is set. Where the threads already have an
 * alternate stack (AddressSanitizer gives them one), spool keeps it and maps
 * none: the failing case is then not reached, and the program says so. */
#include <sys/mman.h>

#include "harness.h"

void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);

static atomic_bool fail_altstack;
static atomic_uint altstack_attempts;
static size_t altstack_size;

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (len == altstack_size) {
    atomic_fetch_add(&altstack_attempts, 1);
    if (atomic_load(&fail_altstack)) {
      errno = ENOMEM;
      return MAP_FAILED;
    }
  }
  return __real_mmap64(addr, len, prot, flags, fd, off);
}

static int create(unsigned workers, bool catch_overflow, spool_executor **ex) {
  spool_config c;
  spool_config_init(&c);
  c.workers = workers;
  c.catch_stack_overflow = catch_overflow;
  c.fiber_stack_size = (size_t)1 << 20; /* not the alternate stack's size */
  *ex = NULL;
  return spool_executor_create(ex, &c);
}

int main(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE), size = (size_t)64 << 10;
#ifdef _SC_SIGSTKSZ
  long wanted = sysconf(_SC_SIGSTKSZ);
  if (wanted > 0 && (size_t)wanted > size) size = (size_t)wanted;
#endif
  altstack_size = ((size + page - 1) & ~(page - 1)) + page;

  harness_phase("creation maps an alternate stack per worker");
  spool_executor *ex = NULL;
  CHECK_EQ(create(2, true, &ex), SPOOL_OK);
  spool_executor_destroy(ex);
  unsigned mapped = atomic_load(&altstack_attempts);
  if (mapped == 0) {
    printf("the threads have an alternate stack already (sanitizer): not reached\n");
  } else {
    CHECK_EQ(mapped, 2);
    harness_phase("no alternate stack: creation fails with SPOOL_ENOMEM");
    atomic_store(&fail_altstack, true);
    for (unsigned workers = 1; workers <= 3; workers++) {
      int rc = create(workers, true, &ex);
      CHECK_EQ(rc, SPOOL_ENOMEM);
      CHECK(ex == NULL);
      if (rc == SPOOL_OK) spool_executor_destroy(ex);
    }
    harness_phase("without catch_stack_overflow no alternate stack is needed");
    CHECK_EQ(create(2, false, &ex), SPOOL_OK);
    spool_future *f = harness_submit(ex, harness_fib, HARNESS_PTR(15));
    CHECK_EQ(harness_result(f, 30), harness_fib_serial(15));
    spool_future_release(f);
    spool_executor_destroy(ex);
    atomic_store(&fail_altstack, false);
  }
  harness_phase("and with it again, once the stacks can be mapped");
  CHECK_EQ(create(2, true, &ex), SPOOL_OK);
  spool_executor_destroy(ex);
  harness_watchdog_off();
  return harness_report();
}
