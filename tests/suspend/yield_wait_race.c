/* Stress: a yield-wait's timer racing the completions that satisfy it.
 *
 * The protocol (runtime/coop_wait.c) promises that a suspended yield-wait
 * is resumed exactly once, whoever gets there first: the timer at its
 * deadline, or a completion that makes `when` hold, or two completions at
 * once; and that nobody touches the wait after it has returned.
 *
 * Each round: WAITERS tasks each yield-wait FIRST_COMPLETED on two created
 * futures of their own, c[i] and d[i], with a deadline at the instant
 * target[i] (+- a few microseconds). At target[i] the main thread (from
 * outside: the continuation goes through an injection queue) completes
 * c[i], and a completer task on a worker (onto its deque) completes d[i].
 * So the timer, an outside completion and a worker completion race for the
 * same resume.
 *
 * Checked: every waiter returns exactly once (a count per waiter; a lost
 * resume is a bounded wait that fails), with SPOOL_OK and a done future
 * first, or SPOOL_ETIMEDOUT; suspends == resumes once all is joined; join
 * returns. A double resume would switch to a fiber twice (a crash, or a
 * count of 2). Configurations: 2 workers, 3 workers, and 2 workers with
 * max_fibers 1 (the waits beyond the first wait nested, with deadlines).
 * Each runs SPOOL_STRESS_SCALE seconds (at least a few rounds); both
 * outcomes (timer first, completion first) are counted and printed. */
#include "harness.h"

#define WAITERS 16

static spool_future *c[WAITERS], *d[WAITERS];
static double target[WAITERS], deadline_at[WAITERS];
static _Atomic int returns[WAITERS];
static _Atomic unsigned long bad_outcomes, timeouts_seen, completions_seen;

static int waiter(void *arg, void **result) {
  (void)result;
  int i = (int)(intptr_t)arg;
  spool_future *fs[2] = {c[i], d[i]};
  double timeout = deadline_at[i] - harness_now();
  if (timeout <= 0) timeout = 1e-9; /* not 0: that would poll */
  size_t nd = 0;
  int rc = spool_yield_wait(fs, 2, timeout, SPOOL_FIRST_COMPLETED, &nd);
  if (rc == SPOOL_OK) {
    if (nd < 1 || !spool_future_done(fs[0])) atomic_fetch_add(&bad_outcomes, 1);
    atomic_fetch_add_explicit(&completions_seen, 1, memory_order_relaxed);
  } else if (rc == SPOOL_ETIMEDOUT) {
    atomic_fetch_add_explicit(&timeouts_seen, 1, memory_order_relaxed);
  } else {
    atomic_fetch_add(&bad_outcomes, 1);
  }
  atomic_fetch_add(&returns[i], 1);
  return 0;
}

/* Completes d[i] at target[i], for every i, in order of target. */
static int completer(void *arg, void **result) {
  (void)arg;
  (void)result;
  for (int i = 0; i < WAITERS; i++) {
    while (harness_now() < target[i])
      harness_relax();
    spool_future_set_result(d[i], NULL);
  }
  return 0;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static unsigned next_rand(unsigned n) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (unsigned)((rng * 0x2545F4914F6CDD1Dull) >> 33) % n;
}

static void round_once(spool_executor *ex) {
  double base = harness_now() + 0.002 * harness_slowness();
  for (int i = 0; i < WAITERS; i++) {
    c[i] = harness_created();
    d[i] = harness_created();
    target[i] = base + 20e-6 * i;
    deadline_at[i] = target[i] + ((double)next_rand(21) - 10.0) * 1e-6;
    atomic_store(&returns[i], 0);
  }
  spool_future *w[WAITERS];
  for (int i = 0; i < WAITERS; i++)
    w[i] = harness_submit(ex, waiter, HARNESS_PTR(i));
  spool_future *comp = harness_submit(ex, completer, NULL);
  for (int i = 0; i < WAITERS; i++) {
    while (harness_now() < target[i])
      harness_relax();
    spool_future_set_result(c[i], NULL);
  }
  for (int i = 0; i < WAITERS; i++) {
    CHECK_EQ(spool_future_result(w[i], 10.0 * harness_slowness(), NULL), SPOOL_OK);
    spool_future_release(w[i]);
  }
  CHECK_EQ(spool_future_result(comp, 10.0 * harness_slowness(), NULL), SPOOL_OK);
  spool_future_release(comp);
  CHECK_EQ(spool_join(ex, 10.0 * harness_slowness()), SPOOL_OK);
  for (int i = 0; i < WAITERS; i++) {
    if (atomic_load(&returns[i]) != 1) CHECK_EQ(atomic_load(&returns[i]), 1);
    spool_future_release(c[i]);
    spool_future_release(d[i]);
  }
}

static void run_config(const char *name, unsigned workers, unsigned max_fibers) {
  harness_phase_limited(name, 60);
  spool_executor *ex = harness_executor_opt(workers, (harness_options){.max_fibers = max_fibers});
  double t0 = harness_now();
  unsigned rounds = 0;
  atomic_store(&timeouts_seen, 0);
  atomic_store(&completions_seen, 0);
  while (rounds < 5 || harness_now() - t0 < (double)harness_scale()) {
    round_once(ex);
    rounds++;
  }
  spool_stats st = harness_stats(ex);
  CHECK_EQ(st.suspends, st.resumes);
  CHECK_EQ(atomic_load(&bad_outcomes), 0);
  fprintf(stderr, "%s: %u rounds, %lu timed out, %lu completed first, %llu nested waits\n", name,
          rounds, atomic_load(&timeouts_seen), atomic_load(&completions_seen),
          (unsigned long long)st.nested_waits);
  spool_executor_destroy(ex);
}

int main(void) {
  run_config("2 workers", 2, 0);
  run_config("3 workers", 3, 0);
  run_config("2 workers, max_fibers 1 (nested)", 2, 1);
  harness_watchdog_off();
  return harness_report();
}
