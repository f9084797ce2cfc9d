/* Nested waits at the fiber cap never overflow the stack.
 *
 * At the max_fibers cap a wait cannot park its task: it waits nested,
 * running other queued work on the same stack, and that work may wait
 * nested in turn. With thousands of waiting tasks queued, the nesting grew
 * until the stack overflowed (found by tests/stress/group_stress.c at
 * SPOOL_STRESS_SCALE=4 with a cap of 16, or under ThreadSanitizer). Now a
 * nested wait with three quarters of its stack used parks the stack beyond
 * the cap and goes on on a fresh one.
 *
 * One worker, max_fibers = 1, 64 KiB stacks: TASKS tasks each yield on one
 * created future (the gate), which main completes once every task has
 * started. The first parks, the second waits nested on the next loop
 * fiber and runs the third there, and so on: about 50 levels fill a 64 KiB
 * stack, so TASKS levels would overflow it many times over. Checks: every
 * task started while the gate was still open and returned 0 after it
 * closed; the cap was reached (nested_waits > 0); stacks were parked
 * beyond it (more tasks parked at once than the cap, once all started).
 * Then the same with the waits as spool_yield_wait(..., timeout) (a
 * cooperative wait with a timer), once with a timeout that never expires
 * and once with 50 ms, so that the timers resume the waits (parked stacks
 * and nested waits alike) while the gate is still closed: every task must
 * see SPOOL_ETIMEDOUT and return. All three again on two workers
 * (SPOOL_STRESS_SCALE rounds). Before the fix: "a task overflowed its
 * fiber stack", and abort. */
#include "harness.h"

#define TASKS 3000
#define CAP   1

typedef enum mode {
  PLAIN,     /* spool_future_yield_until_done */
  TIMED,     /* spool_yield_wait with a timeout that never expires */
  TIMING_OUT /* spool_yield_wait whose timers fire, the gate still open */
} mode;
static const char *const mode_name[] = {"plain", "timed", "timing-out"};

static spool_future *gate;
/* Counts only, no data published through them: relaxed. main reads
   `started` while tasks run (a count that only grows, polled until it is
   complete), and the other two after harness_result() or
   harness_collect_zeros(), whose wait for each task's future orders every
   task's increment before the read. The resets to 0 come before the
   round's submits, which order them before every task. */
static _Atomic int started, finished_early, timed_out;
static mode waits;

static int wait_on_gate(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_fetch_add_explicit(&started, 1, memory_order_relaxed);
  if (waits == PLAIN) {
    int rc = spool_future_yield_until_done(gate);
    if (!spool_future_done(gate))
      atomic_fetch_add_explicit(&finished_early, 1, memory_order_relaxed);
    return rc;
  }
  spool_future *own[1] = {gate}; /* the wait reorders its array: one per task */
  int rc = spool_yield_wait(own, 1, waits == TIMED ? 600.0 : 0.05, SPOOL_ALL_COMPLETED, NULL);
  if (waits == TIMING_OUT) {
    /* Resumed by its timer (the gate opens after every task returned). */
    if (rc == SPOOL_ETIMEDOUT && !spool_future_done(gate))
      atomic_fetch_add_explicit(&timed_out, 1, memory_order_relaxed);
    return 0;
  }
  if (!spool_future_done(gate)) atomic_fetch_add_explicit(&finished_early, 1, memory_order_relaxed);
  return rc;
}

static void run_round(unsigned workers, mode m) {
  waits = m;
  atomic_store_explicit(&started, 0, memory_order_relaxed);
  atomic_store_explicit(&finished_early, 0, memory_order_relaxed);
  atomic_store_explicit(&timed_out, 0, memory_order_relaxed);
  spool_executor *ex = harness_executor_opt(
      workers, (harness_options){.max_fibers = CAP, .fiber_stack_size = 64 << 10});
  gate = harness_created();
  spool_future **fs = calloc(TASKS, sizeof *fs);
  if (!fs) abort();
  for (int i = 0; i < TASKS; i++)
    fs[i] = harness_submit(ex, wait_on_gate, NULL);
  CHECK(HARNESS_UNTIL(atomic_load_explicit(&started, memory_order_relaxed) == TASKS, 120));
  if (m == TIMING_OUT) {
    /* Every wait ends by its timer, parked stacks included. */
    int ok = 0;
    for (int i = 0; i < TASKS; i++)
      ok += harness_result(fs[i], SPOOL_FOREVER) == 0;
    CHECK_EQ(ok, TASKS);
    CHECK_EQ(atomic_load_explicit(&timed_out, memory_order_relaxed), TASKS);
  }
  spool_stats s = harness_stats(ex);
  uint64_t suspends = s.suspends; /* parks so far (all resumed when timing out) */
  printf("%u worker(s), %s waits: %llu nested, %llu parks, %llu parked at once (cap %d)", workers,
         mode_name[m], (unsigned long long)s.nested_waits, (unsigned long long)suspends,
         (unsigned long long)(s.suspends - s.resumes), CAP);
  if (workers > 1) { /* information only: the round does not require both to take part */
    spool_stats w1;
    if (spool_stats_read(ex, 1, &w1) == SPOOL_OK)
      printf("; worker 1 ran %llu tasks, resumed %llu", (unsigned long long)w1.tasks_run,
             (unsigned long long)w1.resumes);
  }
  printf("\n");
  CHECK(s.nested_waits > 0); /* the cap was reached */
  if (m == TIMING_OUT)
    CHECK(suspends > CAP); /* stacks were parked beyond it */
  else
    CHECK(s.suspends - s.resumes > CAP); /* and stacks are parked beyond it */
  CHECK(spool_future_set_result(gate, NULL) == SPOOL_OK);
  CHECK_EQ(harness_collect_zeros(fs, TASKS), TASKS);
  CHECK_EQ(atomic_load_explicit(&finished_early, memory_order_relaxed), 0);
  CHECK(spool_join(ex, SPOOL_FOREVER) == SPOOL_OK);
  spool_future_release(gate);
  free(fs);
  spool_executor_destroy(ex);
}

int main(void) {
  harness_phase_limited("plain waits, one worker", 300);
  run_round(1, PLAIN);
  harness_phase_limited("timed waits, one worker", 300);
  run_round(1, TIMED);
  harness_phase_limited("timing-out waits, one worker", 300);
  run_round(1, TIMING_OUT);
  /* Two workers: the nesting is shared out, and parks and resumes may
     cross threads (the output says whether worker 1 took part; it is not
     required); every round of SPOOL_STRESS_SCALE. */
  for (unsigned r = 0; r < harness_scale(); r++) {
    harness_phase_limited("plain waits, two workers", 300);
    run_round(2, PLAIN);
    harness_phase_limited("timed waits, two workers", 300);
    run_round(2, TIMED);
    harness_phase_limited("timing-out waits, two workers", 300);
    run_round(2, TIMING_OUT);
  }
  harness_watchdog_off();
  return harness_report();
}
