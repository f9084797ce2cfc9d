/* spool_future_cancel() on a queued task whose done callback releases the
 * caller's last reference, while a worker drops the queue's.
 *
 * spool.h ("Ownership") lets a callback release the caller's reference:
 * the runtime holds its own while callbacks run. For a queued task the
 * only other reference is the queue entry's, and a worker that takes the
 * entry after the cancel won drops it at once. spool_future_cancel() held
 * none of its own, so once the callback released the last reference, the
 * next callback got a freed future and the cancel itself read f->handle
 * from freed memory (found by review; AddressSanitizer reports it as a
 * heap use after free; in other builds the second callback's check fails
 * when the freed block has been reused, as it was in the plain build).
 *
 * One worker, busy with a blocker; the victim task queued behind it; two
 * callbacks on the victim. The first lets the blocker finish, waits until
 * the worker has gone to sleep (so it has taken the victim's entry, lost
 * its claim to the cancel and dropped the queue's reference), then
 * releases the caller's reference. The second checks that it still sees
 * the future cancelled. ROUNDS rounds. */
#include "harness.h"

#define ROUNDS (10 * harness_scale())

static spool_executor *ex;
/* The first callback releases it. */
static harness_blocker blocker;
/* Written and read by the cancelling thread only (callbacks run there). */
static int second_saw_cancelled;

static int victim(void *arg, void **result) {
  (void)arg;
  (void)result;
  return 0;
}

static void release_last_reference(spool_future *f, void *user) {
  (void)user;
  spool_stats before, now;
  spool_stats_read(ex, 0, &before);
  harness_blocker_release(&blocker);
  /* seconds_asleep counts a sleep in progress: it grows once the worker,
     out of work, sleeps. */
  CHECK(HARNESS_UNTIL((spool_stats_read(ex, 0, &now), now.seconds_asleep > before.seconds_asleep),
                      30));
  spool_future_release(f); /* the caller's reference: the last but the runtime's */
}

static void check_still_cancelled(spool_future *f, void *user) {
  (void)user;
  second_saw_cancelled = spool_future_cancelled(f);
}

int main(void) {
  ex = harness_executor(1);
  for (unsigned round = 0; round < ROUNDS; round++) {
    harness_phase("cancel whose callback releases the last reference");
    second_saw_cancelled = 0;
    spool_future *b = harness_blocker_start(ex, &blocker);
    spool_future *f = harness_submit(ex, victim, NULL);
    CHECK_EQ(spool_future_add_done_callback(f, release_last_reference, NULL), SPOOL_OK);
    CHECK_EQ(spool_future_add_done_callback(f, check_still_cancelled, NULL), SPOOL_OK);
    CHECK(spool_future_cancel(f)); /* f is not ours after this */
    CHECK(second_saw_cancelled);
    CHECK_EQ(harness_result(b, SPOOL_FOREVER), 0);
    spool_future_release(b);
  }
  harness_watchdog_off();
  spool_executor_destroy(ex);
  return harness_report();
}
