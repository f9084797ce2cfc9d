/* Regression (issue 9, defect 3): after spool_shutdown(ex, _, true)
 * returns, no task whose submit returned SPOOL_OK may start unless a worker
 * had taken it before. A submit that had passed its "still accepting"
 * check could push after shutdown's drain and return SPOOL_OK, and its task
 * ran later.
 *
 * Each round: the executor's only worker runs a blocker task, so no worker
 * takes anything during the race. The blocker submits in a loop (onto its
 * own deque) and so do several outside threads (onto the injection queue),
 * all until they get SPOOL_ESHUTDOWN, while the main thread calls
 * spool_shutdown(ex, false, true). Then every future whose submit returned
 * SPOOL_OK must be cancelled, and after the blocker is released and the
 * executor destroyed, no submitted task may have run.
 *
 * Steered rounds first: linked against the library built with its test
 * hooks, one submission per round stops after its state check, before its
 * push, until the shutdown has either returned (the defect: the push then
 * comes after the drain) or reports that it waits for a submission in
 * flight (the fix). Free-running rounds follow (hooks off). */
#include "harness.h"

#define SUBMITTERS   3
#define MAX_PER_SIDE 4096

typedef struct side {
  spool_future *fs[MAX_PER_SIDE];
  unsigned n;
  unsigned detached_ok;
} side;

static atomic_bool go, release_blocker, blocker_started, blocker_submitted;
static atomic_uint ran;
static spool_executor *current;

extern void (*volatile spool_test_hook_submit_accepted)(void);
extern void (*volatile spool_test_hook_shutdown_waits)(void);
static atomic_bool hook_armed, in_window, shutdown_returned, shutdown_waited;

static void stop_in_window(void) {
  if (!atomic_exchange(&hook_armed, false)) return;
  atomic_store(&in_window, true);
  CHECK(HARNESS_UNTIL(atomic_load(&shutdown_returned) || atomic_load(&shutdown_waited), 20));
}

static void note_shutdown_waits(void) {
  atomic_store(&shutdown_waited, true);
}

static int counted(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_fetch_add(&ran, 1);
  return 0;
}

/* Submits (futures and fire-and-forget, alternately) until shut down. */
static void submit_until_shutdown(side *s) {
  for (unsigned i = 0;; i++) {
    int rc;
    if (i % 2 == 0 && s->n < MAX_PER_SIDE) {
      spool_future *f = NULL;
      rc = spool_submit(current, counted, NULL, &f);
      if (rc == SPOOL_OK) s->fs[s->n++] = f;
    } else {
      rc = spool_submit(current, counted, NULL, NULL);
      if (rc == SPOOL_OK) s->detached_ok++;
    }
    if (rc == SPOOL_ESHUTDOWN) return;
    if (!CHECK_EQ(rc, SPOOL_OK)) return;
  }
}

static void *outside_submitter(void *arg) {
  while (!atomic_load(&go))
    harness_relax();
  submit_until_shutdown(arg);
  return NULL;
}

static int blocker(void *arg, void **result) {
  (void)result;
  atomic_store(&blocker_started, true);
  while (!atomic_load(&go))
    harness_relax();
  submit_until_shutdown(arg);
  atomic_store(&blocker_submitted, true);
  while (!atomic_load(&release_blocker))
    harness_relax();
  return 0;
}

static unsigned check_side(side *s) {
  unsigned bad = 0;
  for (unsigned i = 0; i < s->n; i++) {
    if (!spool_future_cancelled(s->fs[i])) bad++;
  }
  return bad;
}

static void release_side(side *s) {
  for (unsigned i = 0; i < s->n; i++)
    spool_future_release(s->fs[i]);
}

int main(void) {
  static side sides[SUBMITTERS + 1];
  unsigned steered = 10, rounds = steered + 100 * harness_scale(), not_cancelled = 0, ran_after = 0;
  spool_test_hook_submit_accepted = stop_in_window;
  spool_test_hook_shutdown_waits = note_shutdown_waits;
  for (unsigned r = 0; r < rounds; r++) {
    bool steer = r < steered;
    harness_phase(steer ? "a submit stopped in flight while shutdown(cancel_futures) runs"
                        : "submits racing with shutdown(cancel_futures)");
    atomic_store(&in_window, false);
    atomic_store(&shutdown_returned, false);
    atomic_store(&shutdown_waited, false);
    memset(sides, 0, sizeof sides);
    atomic_store(&go, false);
    atomic_store(&release_blocker, false);
    atomic_store(&ran, 0);
    atomic_store(&blocker_started, false);
    atomic_store(&blocker_submitted, false);
    current = harness_executor(1);
    spool_future *b = harness_submit(current, blocker, &sides[SUBMITTERS]);
    CHECK(HARNESS_UNTIL(atomic_load(&blocker_started), 10));
    pthread_t t[SUBMITTERS];
    for (int i = 0; i < SUBMITTERS; i++)
      CHECK(pthread_create(&t[i], NULL, outside_submitter, &sides[i]) == 0);
    atomic_store(&go, true);
    if (steer) {
      /* one submitter (the blocker or an outside one, whichever comes
         first) stops between its state check and its push */
      atomic_store(&hook_armed, true);
      CHECK(HARNESS_UNTIL(atomic_load(&in_window), 10));
    } else {
      /* let the submitters get going; the race is with whatever is in
         flight */
      for (volatile unsigned spin = 0; spin < 20000u * (r % 8); spin++)
        ;
    }
    CHECK_EQ(spool_shutdown(current, false, true), SPOOL_OK);
    atomic_store(&shutdown_returned, true);
    /* every submitter has returned (the blocker's: it waits for release) */
    for (int i = 0; i < SUBMITTERS; i++)
      pthread_join(t[i], NULL);
    CHECK(HARNESS_UNTIL(atomic_load(&blocker_submitted), 10));
    for (int i = 0; i <= SUBMITTERS; i++)
      not_cancelled += check_side(&sides[i]);
    atomic_store(&release_blocker, true);
    CHECK_EQ(harness_result(b, 30), 0);
    spool_executor_destroy(current);
    ran_after += atomic_load(&ran);
    spool_future_release(b);
    for (int i = 0; i <= SUBMITTERS; i++)
      release_side(&sides[i]);
  }
  printf("%u rounds: %u futures not cancelled, %u tasks ran after the shutdown\n", rounds,
         not_cancelled, ran_after);
  CHECK_EQ(not_cancelled, 0);
  CHECK_EQ(ran_after, 0);
  harness_watchdog_off();
  return harness_report();
}
