/* spool_for and spool_map from outside, against spool_shutdown(ex, false,
 * true): they return SPOOL_ESHUTDOWN and run nothing, whether the shutdown
 * refused the loop's root task or cancelled it while it was queued.
 *
 * A new-user review found the second case returning SPOOL_ECANCELLED, which
 * the header does not list for either function (and which a caller cannot
 * tell from a body's own code); spool_map then also left results and
 * errors unwritten while its header said every item runs.
 *
 * Each round: one worker, kept busy by a blocker task until the shutdown
 * has returned, so a loop's root can only wait in the queue; two threads
 * call spool_for (1000 indices) and spool_map (4 items, errors[] preset to
 * 999) from outside; main shuts down with cancel_futures once both have
 * announced their call. Whether a call's root was queued or refused depends
 * on timing; the expected outcome is the same either way. Checks: both
 * return SPOOL_ESHUTDOWN, no body or item ran, and errors[] and results[]
 * are as the caller left them. */
#include "harness.h"

#define ROUNDS (50 * harness_scale())
#define ITEMS  4

static spool_executor *ex;
static harness_blocker blocker;
/* release/acquire: the callers' announcements (to main). The counts are
   relaxed: main reads them after joining the threads and shutting down,
   which order every increment before the read. */
static _Atomic int calling;
static _Atomic int bodies_run, items_run;

static int count_body(size_t lo, size_t hi, void *ctx) {
  (void)ctx;
  atomic_fetch_add_explicit(&bodies_run, (int)(hi - lo), memory_order_relaxed);
  return 0;
}

static int count_item(void *arg, void **result) {
  *result = arg;
  atomic_fetch_add_explicit(&items_run, 1, memory_order_relaxed);
  return 0;
}

static int for_rc, map_rc;
static int errors[ITEMS];
static void *results[ITEMS];
static void *args[ITEMS];

static void *call_for(void *arg) {
  (void)arg;
  atomic_fetch_add_explicit(&calling, 1, memory_order_release);
  for_rc = spool_for(ex, 0, 1000, 0, count_body, NULL);
  return NULL;
}

static void *call_map(void *arg) {
  (void)arg;
  atomic_fetch_add_explicit(&calling, 1, memory_order_release);
  map_rc = spool_map(ex, count_item, args, ITEMS, results, errors);
  return NULL;
}

int main(void) {
  static int marker;
  void *const sentinel = &marker;
  for (unsigned round = 0; round < ROUNDS; round++) {
    harness_phase("spool_for and spool_map against shutdown(cancel_futures)");
    ex = harness_executor(1);
    atomic_store_explicit(&calling, 0, memory_order_relaxed);
    atomic_store_explicit(&bodies_run, 0, memory_order_relaxed);
    atomic_store_explicit(&items_run, 0, memory_order_relaxed);
    for (int i = 0; i < ITEMS; i++) {
      errors[i] = 999;
      results[i] = sentinel;
    }
    spool_future *b = harness_blocker_start(ex, &blocker);
    pthread_t t[2];
    CHECK(pthread_create(&t[0], NULL, call_for, NULL) == 0);
    CHECK(pthread_create(&t[1], NULL, call_map, NULL) == 0);
    CHECK(HARNESS_UNTIL(atomic_load_explicit(&calling, memory_order_acquire) == 2, 30));
    /* Give the calls a varying head start (the outcome must not depend on
       it: this only makes both cases occur). */
    for (unsigned k = 0; k < round % 8; k++)
      sched_yield();
    CHECK_EQ(spool_shutdown(ex, false, true), SPOOL_OK);
    for (int k = 0; k < 2; k++)
      pthread_join(t[k], NULL);
    harness_blocker_release(&blocker);
    CHECK_EQ(for_rc, SPOOL_ESHUTDOWN);
    CHECK_EQ(map_rc, SPOOL_ESHUTDOWN);
    CHECK_EQ(atomic_load_explicit(&bodies_run, memory_order_relaxed), 0);
    CHECK_EQ(atomic_load_explicit(&items_run, memory_order_relaxed), 0);
    int untouched = 0;
    for (int i = 0; i < ITEMS; i++)
      untouched += errors[i] == 999 && results[i] == sentinel;
    CHECK_EQ(untouched, ITEMS);
    CHECK_EQ(harness_result(b, SPOOL_FOREVER), 0);
    spool_future_release(b);
    spool_executor_destroy(ex);
  }
  harness_watchdog_off();
  return harness_report();
}
