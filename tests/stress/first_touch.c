/* Memory where it is used (DESIGN.md, NUMA placement): a worker's deque
 * ring is allocated by the worker's own thread, after it is bound, so the
 * kernel places its pages on the worker's node. On a one-node machine the
 * page placement cannot be seen, so the program checks the allocation
 * itself: it interposes malloc and calloc (forwarding to glibc), records which worker
 * thread (if any) made each allocation during spool_executor_create, and
 * checks that worker i's ring came from worker i's thread.
 *
 * Not run under AddressSanitizer, ThreadSanitizer or valgrind, which
 * replace the allocator themselves (exit 77: skipped). */
#include <internal.h>
#include <stdatomic.h>

#include "stress.h"

#if defined(TEST_ASAN) || defined(TEST_TSAN)
#define INTERPOSED 0
#else
#define INTERPOSED 1
#endif

#define RECORDS 4096
static struct {
  void *ptr;
  int worker;
} records[RECORDS];
static atomic_uint nrecords;
static atomic_bool recording;

#if INTERPOSED
static void record(void *p) {
  if (p && atomic_load_explicit(&recording, memory_order_relaxed)) {
    worker *w = worker_self();
    unsigned i = atomic_fetch_add_explicit(&nrecords, 1, memory_order_relaxed);
    if (i < RECORDS) {
      records[i].ptr = p;
      records[i].worker = w ? (int)w->index : -1;
    }
  }
}

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
void *malloc(size_t size) {
  void *p = __libc_malloc(size);
  record(p);
  return p;
}
void *calloc(size_t n, size_t size) {
  void *p = __libc_calloc(n, size);
  record(p);
  return p;
}
#endif

static int creator_of(void *p) {
  unsigned n = atomic_load(&nrecords);
  for (unsigned i = 0; i < n && i < RECORDS; i++)
    if (records[i].ptr == p) return records[i].worker;
  return -2; /* not allocated during creation */
}

int main(void) {
  if (!INTERPOSED || test_under_valgrind()) {
    printf("skipped: the allocator is replaced by the checker\n");
    return 77;
  }
  for (unsigned workers = 1; workers <= 4; workers++) {
    spool_config c;
    spool_config_init(&c);
    c.workers = workers;
    c.bind = SPOOL_BIND_CORE;
    atomic_store(&nrecords, 0);
    atomic_store(&recording, true);
    spool_executor *ex;
    int rc = spool_executor_create(&ex, &c);
    atomic_store(&recording, false);
    if (!CHECK(rc == SPOOL_OK)) break;
    for (unsigned i = 0; i < workers; i++) {
      int by = creator_of(ex->workers[i].dq.owner_buffer);
      CHECKF(by == (int)i, "%u workers: worker %u's ring allocated by %s %d", workers, i,
             by == -1 ? "a thread that is no worker" : "worker", by);
    }
    spool_executor_destroy(ex);
  }
  return stress_report();
}
