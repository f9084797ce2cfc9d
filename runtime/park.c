/* Sleeping and waking without lost wake-ups.
 *
 * Events (futures' waiters, joiners, as_completed): the classic event count.
 *   Waiter: 1. seen = seq (acquire)  2. check the condition  3. futex-wait
 *           while seq == seen.
 *   Signaller: make the condition true, then seq++ (release), then wake.
 * Invariant: a waiter that misses the condition in step 2 read seq before
 * the signaller's increment, so its futex-wait in step 3 either sees a
 * different seq and returns at once, or is woken by the signaller's wake,
 * which follows the increment. The `waiters` count only lets a signal skip
 * the system call: the waiter increments it (seq_cst) before reading seq,
 * the signaller increments seq (seq_cst) before reading waiters, so at
 * least one of them sees the other (Dekker).
 *
 * Workers' sleep (park_lot), in the prepare / re-check / commit shape:
 *   Sleeper: 1. sleepers++ (seq_cst)  2. e = epoch  3. re-check every queue
 *            (after the seq_cst RMW of step 1)  4. futex-wait while
 *            epoch == e  5. sleepers--.
 *   Waker:   1. publish the work  2. seq_cst fence  3. if sleepers > 0:
 *            epoch++ and futex-wake one.
 * Invariant: no work is published while every worker sleeps without a wake
 * on its way. Both sides store, then (seq_cst) load the other's variable, so
 * either the waker sees sleepers > 0 and bumps epoch (then the sleeper's
 * futex-wait returns or is woken), or the sleeper's re-check sees the work.
 *
 * The relaxed notification. A worker pushing onto its own deque is awake
 * and will run that work itself, so a missed wake there costs parallelism,
 * never progress; park_notify_relaxed() therefore skips the fence (a push is
 * the hot path) and a sleeper that it misses is woken by a later push. A
 * worker about to block with work left in its deque calls park_notify()
 * first. It also makes one system call per burst: `waking` is set (CAS) by
 * the one waker that calls futex-wake and cleared by the worker that wakes,
 * or by the waker itself when the wake found nobody asleep, so it can never
 * stay set with no one to clear it. park_notify() ignores `waking`. */
#include "park.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int64_t clock_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t deadline_after(double timeout) {
  if (timeout < 0) return DEADLINE_NONE;
  double ns = timeout * 1e9;
  if (ns >= (double)(INT64_MAX / 2)) return DEADLINE_NONE;
  return clock_now_ns() + (int64_t)ns;
}

bool futex_wait_until(_Atomic uint32_t *word, uint32_t expected, int64_t deadline) {
  struct timespec ts, *tsp = NULL;
  if (deadline != DEADLINE_NONE) {
    int64_t left = deadline - clock_now_ns();
    if (left <= 0) return false;
    ts.tv_sec = left / 1000000000;
    ts.tv_nsec = left % 1000000000;
    tsp = &ts;
  }
  long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0);
  if (r == -1 && errno == ETIMEDOUT) return false;
  return true;
}

void futex_wake(_Atomic uint32_t *word, int count) {
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

/* ---- Events ------------------------------------------------------------- */

void event_init(event *e) {
  atomic_init(&e->seq, 0);
  atomic_init(&e->waiters, 0);
}

uint32_t event_prepare(event *e) {
  /* seq_cst: pairs with the seq_cst increment of seq in event_signal()
     (Dekker on waiters/seq, see the file comment). */
  fetch_add_seq_cst(&e->waiters, 1);
  /* seq_cst: acquire side of the pairing with event_signal()'s increment,
     so a condition made true before it is visible to the re-check. */
  return load_seq_cst(&e->seq);
}

bool event_wait(event *e, uint32_t seen, int64_t deadline) {
  bool woke = futex_wait_until(&e->seq, seen, deadline);
  /* relaxed: only a hint for event_signal(); a late decrement costs one
     extra system call. */
  fetch_sub_relaxed(&e->waiters, 1);
  return woke;
}

void event_cancel(event *e) {
  /* relaxed: see event_wait(). */
  fetch_sub_relaxed(&e->waiters, 1);
}

void event_signal(event *e) {
  /* seq_cst: pairs with the seq_cst load of seq in event_prepare(), and
     orders the read of waiters below after the increment (Dekker). */
  fetch_add_seq_cst(&e->seq, 1);
  /* seq_cst: pairs with the increment of waiters in event_prepare(). */
  if (load_seq_cst(&e->waiters) > 0) futex_wake(&e->seq, INT_MAX);
}

/* ---- The workers' sleep ------------------------------------------------- */

void park_init(park_lot *lot) {
  atomic_init(&lot->epoch, 0);
  atomic_init(&lot->sleepers, 0);
  atomic_init(&lot->waking, 0);
}

uint32_t park_prepare(park_lot *lot) {
  /* seq_cst: the sleeper's store in the Dekker pattern; pairs with the
     fence in park_notify() (file comment, workers' sleep, step 1). */
  fetch_add_seq_cst(&lot->sleepers, 1);
  /* acquire: pairs with the release increment of epoch in park_wake_one(),
     so work published before a wake we have seen is seen by the re-check. */
  return load_acquire(&lot->epoch);
}

void park_cancel(park_lot *lot) {
  /* relaxed: sleepers is only a hint that a wake is worthwhile. */
  fetch_sub_relaxed(&lot->sleepers, 1);
}

int64_t park_sleep(park_lot *lot, uint32_t epoch, int64_t deadline) {
  int64_t start = clock_now_ns();
  futex_wait_until(&lot->epoch, epoch, deadline);
  /* relaxed: see park_cancel(). */
  fetch_sub_relaxed(&lot->sleepers, 1);
  /* release: pairs with the CAS on waking in park_notify_relaxed(); lets the
     next burst wake another worker once this one is up. */
  store_release(&lot->waking, 0);
  return clock_now_ns() - start;
}

static void park_wake_one(park_lot *lot, bool clear_waking) {
  /* release: pairs with the acquire load of epoch in park_prepare(). */
  fetch_add_release(&lot->epoch, 1);
  long woken = syscall(SYS_futex, (uint32_t *)&lot->epoch, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  /* Nobody was inside futex-wait: nobody else will clear waking. */
  if (clear_waking && woken <= 0) store_release(&lot->waking, 0);
}

void park_notify(park_lot *lot) {
  /* seq_cst fence, then sleepers: the waker's half of the Dekker pattern;
     pairs with the seq_cst increment in park_prepare(). */
  if (fence_seq_cst_then_load(&lot->sleepers) > 0) park_wake_one(lot, false);
}

void park_notify_relaxed(park_lot *lot) {
  /* relaxed: a hint (file comment, "the relaxed notification"). */
  if (load_relaxed(&lot->sleepers) <= 0) return;
  int32_t idle = 0;
  /* acq_rel: pairs with the release clears of waking; one waker per burst. */
  if (load_relaxed(&lot->waking) != 0 || !cas_acq_rel(&lot->waking, &idle, 1)) return;
  park_wake_one(lot, true);
}

void park_notify_every(park_lot *lot) {
  /* seq_cst fence, then sleepers: as in park_notify(); pairs with the
     seq_cst increment in park_prepare(). */
  if (fence_seq_cst_then_load(&lot->sleepers) <= 0) return;
  /* release: pairs with the acquire load of epoch in park_prepare(). */
  fetch_add_release(&lot->epoch, 1);
  futex_wake(&lot->epoch, INT_MAX);
}

void park_notify_all(park_lot *lot) {
  /* seq_cst: orders the caller's earlier stores (the shutdown flag) before
     the wake; pairs with the acquire load in park_prepare(). */
  fetch_add_seq_cst(&lot->epoch, 1);
  futex_wake(&lot->epoch, INT_MAX);
}
