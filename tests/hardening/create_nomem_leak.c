/* Regression (issue 9, defect 8): a spool_executor_create that fails for
 * want of memory frees everything it allocated. The executor's weak handle
 * leaked when the workers' or the injectors' allocation failed: its
 * reference count was set only after those allocations succeeded.
 *
 * The library's malloc, calloc, aligned_alloc and free are wrapped (ld
 * --wrap, meson.build): while a creation runs, the Nth allocation fails and
 * every block handed out is tracked until it is freed. For N = 1, 2, ...
 * until a creation succeeds: a failed creation returns SPOOL_ENOMEM and
 * leaves no tracked block behind. (Allocations inside libhwloc and libc are
 * not wrapped, so only the library's own are failed and tracked.) */
#include "harness.h"

#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_aligned_alloc(size_t align, size_t n);
void __real_free(void *p);

#define TRACKED_MAX 8192
static pthread_mutex_t track_lock = PTHREAD_MUTEX_INITIALIZER;
static bool tracking;       /* under track_lock */
static long fail_countdown; /* under track_lock: the allocation that fails is the one reaching 0 */
static long allocations;    /* under track_lock */
static void *tracked[TRACKED_MAX];
static size_t ntracked;
static bool overflowed;

/* Decides whether this allocation fails; false means go ahead. */
static bool alloc_should_fail(void) {
  pthread_mutex_lock(&track_lock);
  bool fail = false;
  if (tracking) {
    allocations++;
    fail = --fail_countdown == 0;
  }
  pthread_mutex_unlock(&track_lock);
  return fail;
}

static void *track(void *p) {
  if (!p) return p;
  pthread_mutex_lock(&track_lock);
  if (tracking) {
    if (ntracked < TRACKED_MAX)
      tracked[ntracked++] = p;
    else
      overflowed = true;
  }
  pthread_mutex_unlock(&track_lock);
  return p;
}

void *__wrap_malloc(size_t n) {
  return alloc_should_fail() ? NULL : track(__real_malloc(n));
}
void *__wrap_calloc(size_t n, size_t size) {
  return alloc_should_fail() ? NULL : track(__real_calloc(n, size));
}
void *__wrap_aligned_alloc(size_t align, size_t n) {
  return alloc_should_fail() ? NULL : track(__real_aligned_alloc(align, n));
}
void __wrap_free(void *p) {
  if (p) {
    pthread_mutex_lock(&track_lock);
    for (size_t i = 0; i < ntracked; i++) {
      if (tracked[i] == p) {
        tracked[i] = tracked[--ntracked];
        break;
      }
    }
    pthread_mutex_unlock(&track_lock);
  }
  __real_free(p);
}

static void tracking_start(long fail_at) {
  pthread_mutex_lock(&track_lock);
  tracking = true;
  fail_countdown = fail_at;
  allocations = 0;
  ntracked = 0;
  overflowed = false;
  pthread_mutex_unlock(&track_lock);
}

static size_t tracking_stop(void) {
  pthread_mutex_lock(&track_lock);
  tracking = false;
  size_t left = ntracked;
  pthread_mutex_unlock(&track_lock);
  return left;
}

int main(void) {
  harness_phase("every allocation of spool_executor_create fails once, in turn");
  unsigned workers_counts[] = {1, 3};
  for (size_t k = 0; k < sizeof workers_counts / sizeof workers_counts[0]; k++) {
    bool succeeded = false;
    for (long n = 1; n < 10000 && !succeeded; n++) {
      spool_config c;
      spool_config_init(&c);
      c.workers = workers_counts[k];
      spool_executor *ex = NULL;
      tracking_start(n);
      int rc = spool_executor_create(&ex, &c);
      if (rc == SPOOL_OK) {
        tracking_stop();
        succeeded = true;
        spool_executor_destroy(ex);
        /* a creation that saw no failure made no more than n allocations */
        CHECK(n > 1);
        break;
      }
      size_t left = tracking_stop();
      CHECK(!overflowed);
      CHECK(ex == NULL);
      if (!CHECK_EQ(rc, SPOOL_ENOMEM) || !CHECK_EQ(left, 0))
        fprintf(stderr, "  (%u workers, allocation %ld failed)\n", workers_counts[k], n);
    }
    CHECK(succeeded);
  }
  harness_watchdog_off();
  return harness_report();
}
