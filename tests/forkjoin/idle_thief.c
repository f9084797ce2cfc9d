/* An idle worker gets work from a worker that keeps forking.
 *
 * DESIGN.md ("Fork-join fast path") keeps forked frames in an owner-private
 * region and publishes them when a thief asks; deque.c: "the thief set the
 * request before announcing its sleep and re-checks the public regions
 * after", so a sleeping thief is always woken by the owner's next fork: the
 * hand-off is free of lost wake-ups ("Sleeping must be free of lost
 * wake-ups", DESIGN.md "Worker loop").
 *
 * On two workers, each run (spool_run from main) forks frames one at a
 * time, spinning about 100 us after each, and stops as soon as one of its
 * frames runs on the other worker; that must happen within 2 seconds (far
 * beyond a thread's wake-up latency, even on a loaded machine: there, runs
 * take either under 10 ms or, when the wake-up is lost, forever). The frame the
 * thief takes holds it until the owner's sync of that frame has suspended
 * (the `suspends` statistic grows), and the continuation then goes back
 * through the thief's deque: the hand-offs at the end of one run are those
 * that leave the thief asleep at the start of the next. 200 runs. */
#include "harness.h"

#define RUNS      200
#define MAX_FORKS 20000

static spool_executor *ex;
static _Atomic int owner = -1;
static _Atomic bool stolen;
static _Atomic uint64_t suspends_before;

static int frame_fn(void *arg, void **result) {
  *result = arg;
  if (spool_current_worker() == atomic_load(&owner)) return 0;
  if (atomic_exchange(&stolen, true)) return 0;
  /* The first stolen frame: hold on until the owner's sync of it parks. */
  double deadline = harness_now() + 10.0 * harness_slowness();
  while (harness_suspends(ex) == atomic_load(&suspends_before) && harness_now() < deadline)
    harness_relax();
  return 0;
}

static int forking_owner(void *arg, void **result) {
  (void)arg;
  static spool_task ts[MAX_FORKS];
  atomic_store(&owner, spool_current_worker());
  double deadline = harness_now() + 2.0 * harness_slowness();
  int n = 0;
  while (n < MAX_FORKS && !atomic_load(&stolen) && harness_now() < deadline) {
    spool_fork(&ts[n], frame_fn, HARNESS_PTR(n));
    n++;
    double until = harness_now() + 100e-6;
    while (!atomic_load(&stolen) && harness_now() < until)
      harness_relax();
  }
  int bad = 0;
  for (int i = n - 1; i >= 0; i--) {
    void *v = NULL;
    bad |= spool_sync(&ts[i], &v) != SPOOL_OK || (intptr_t)v != i;
  }
  *result = HARNESS_PTR(n);
  return bad;
}

int main(void) {
  ex = harness_executor(2);
  harness_phase("an idle worker steals from a forking owner");
  int missed = 0;
  for (int run = 0; run < RUNS; run++) {
    atomic_store(&stolen, false);
    atomic_store(&suspends_before, harness_suspends(ex));
    void *n = NULL;
    CHECK_EQ(spool_run(ex, forking_owner, NULL, &n), SPOOL_OK);
    if (!atomic_load(&stolen)) {
      missed++;
      if (missed <= 3)
        fprintf(stderr, "run %d: no frame taken by the idle worker after %d forks\n", run,
                (int)(intptr_t)n);
    }
  }
  if (!CHECK_EQ(missed, 0))
    fprintf(stderr, "%d of %d runs: the idle worker never stole\n", missed, RUNS);
  spool_executor_destroy(ex);
  harness_watchdog_off();
  return harness_report();
}
