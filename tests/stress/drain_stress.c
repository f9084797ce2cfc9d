/* Drains racing drains: spool_group_cancel() against
 * spool_shutdown(ex, false, true), and two group cancels against each
 * other.
 *
 * Each drain takes every queued item as a thief and pushes back what is not
 * its own to cancel. A review found that the push-back came after the
 * sweep with nothing to stop another drain meanwhile: a concurrent
 * shutdown(cancel_futures) found the queues empty and returned while a
 * group cancel held ordinary tasks, which then started (11 of 200 rounds),
 * and a group cancel returned with members still pending because another
 * group's cancel held them (33 of 100). runtime/executor.c ("Drains") now
 * serialises drains.
 *
 * 1. One worker, kept busy by a blocker task; N ordinary tasks queued
 *    behind it and one member of a group; a thread cancels the group while
 *    main shuts down with cancel_futures. Checks: after the shutdown
 *    returned, no ordinary task starts, and every one of them ends
 *    cancelled.
 * 2. One worker, busy; N members of each of two groups queued; two threads
 *    cancel the groups at once. Checks: when a cancel returns, none of its
 *    group's members is still pending and the group joins at once (their
 *    callbacks ran and they count as finished), and none of them ever
 *    runs.
 *
 * The offset between the two calls varies from round to round.
 * SPOOL_STRESS_SCALE multiplies the rounds. */
#include <pthread.h>
#include <sched.h>

#include "stress.h"

#define TASKS 2000

/* Flags between main, the racing threads and the tasks: each store a
   release and each load an acquire, pairing with each other (a flag
   published before what its reader then does). The counts are relaxed:
   main reads them after joining the threads or waiting for every task's
   future, which orders each increment before the read. */
static atomic_int blocker_running, release_blocker, go, shutdown_returned, late_starts;

static int blocker_task(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_store_explicit(&blocker_running, 1, memory_order_release);
  while (!atomic_load_explicit(&release_blocker, memory_order_acquire))
    sched_yield();
  return 0;
}

static int ordinary(void *arg, void **result) {
  (void)arg;
  (void)result;
  if (atomic_load_explicit(&shutdown_returned, memory_order_acquire))
    atomic_fetch_add_explicit(&late_starts, 1, memory_order_relaxed);
  return 0;
}

static atomic_int member_ran;
static int member(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_fetch_add_explicit(&member_ran, 1, memory_order_relaxed);
  return 0;
}

static spool_executor *one_busy_worker(spool_future **blocker_future) {
  spool_config c;
  spool_config_init(&c);
  c.workers = 1;
  spool_executor *ex = NULL;
  if (!CHECK(spool_executor_create(&ex, &c) == SPOOL_OK)) exit(1);
  atomic_store_explicit(&blocker_running, 0, memory_order_release);
  atomic_store_explicit(&release_blocker, 0, memory_order_release);
  if (!CHECK(spool_submit(ex, blocker_task, NULL, blocker_future) == SPOOL_OK)) exit(1);
  while (!atomic_load_explicit(&blocker_running, memory_order_acquire))
    sched_yield();
  return ex;
}

/* A short busy delay of `units`, to vary which call enters first. */
static void offset(unsigned units) {
  for (volatile unsigned k = 0; k < units * 200; k++) {
  }
}

/* ---- 1. group cancel against shutdown(cancel_futures) ---------------------- */

static spool_group *racing_group;
static unsigned racing_offset;

static void *cancel_racing_group(void *arg) {
  (void)arg;
  while (!atomic_load_explicit(&go, memory_order_acquire))
    sched_yield();
  offset(racing_offset);
  spool_group_cancel(racing_group);
  return NULL;
}

static void group_cancel_against_shutdown(unsigned round) {
  spool_future *b;
  spool_executor *ex = one_busy_worker(&b);
  atomic_store_explicit(&go, 0, memory_order_release);
  atomic_store_explicit(&shutdown_returned, 0, memory_order_release);
  atomic_store_explicit(&late_starts, 0, memory_order_release);
  static spool_future *fs[TASKS];
  for (int i = 0; i < TASKS; i++)
    if (!CHECK(spool_submit(ex, ordinary, NULL, &fs[i]) == SPOOL_OK)) exit(1);
  CHECK(spool_group_create(ex, &racing_group) == SPOOL_OK);
  spool_future *m = NULL;
  CHECK(spool_group_submit(racing_group, member, NULL, &m) == SPOOL_OK);
  racing_offset = round % 50;
  pthread_t t;
  if (!CHECK(pthread_create(&t, NULL, cancel_racing_group, NULL) == 0)) exit(1);
  atomic_store_explicit(&go, 1, memory_order_release);
  offset(25);
  spool_shutdown(ex, false, true);
  atomic_store_explicit(&shutdown_returned, 1, memory_order_release);
  pthread_join(t, NULL);
  atomic_store_explicit(&release_blocker, 1, memory_order_release);
  int not_cancelled = 0;
  for (int i = 0; i < TASKS; i++) {
    spool_future_result(fs[i], SPOOL_FOREVER, NULL);
    not_cancelled += !spool_future_cancelled(fs[i]);
    spool_future_release(fs[i]);
  }
  CHECKF(atomic_load_explicit(&late_starts, memory_order_relaxed) == 0,
         "round %u: %d tasks started after shutdown returned", round,
         atomic_load_explicit(&late_starts, memory_order_relaxed));
  CHECKF(not_cancelled == 0, "round %u: %d queued tasks not cancelled by shutdown", round,
         not_cancelled);
  spool_group_destroy(racing_group);
  spool_future_release(m);
  spool_future_release(b);
  spool_executor_destroy(ex);
}

/* ---- 2. two group cancels ----------------------------------------------------- */

typedef struct canceller {
  spool_group *g;
  spool_future **members;
  unsigned offset;
  int pending_after; /* members still pending when its cancel returned */
  int join_after;    /* spool_group_join(g, 0) then: members not finished */
} canceller;

static void *cancel_and_count(void *arg) {
  canceller *c = arg;
  while (!atomic_load_explicit(&go, memory_order_acquire))
    sched_yield();
  offset(c->offset);
  spool_group_cancel(c->g);
  for (int i = 0; i < TASKS; i++)
    c->pending_after += !spool_future_done(c->members[i]);
  /* Only this call cancels g's members (the other drain keeps them), so
     their callbacks have run and they count as finished. */
  c->join_after = spool_group_join(c->g, 0);
  return NULL;
}

static void group_cancel_against_group_cancel(unsigned round) {
  spool_future *b;
  spool_executor *ex = one_busy_worker(&b);
  atomic_store_explicit(&go, 0, memory_order_release);
  atomic_store_explicit(&member_ran, 0, memory_order_release);
  static spool_future *fs[2][TASKS];
  canceller c[2];
  for (int k = 0; k < 2; k++) {
    c[k] = (canceller){.members = fs[k], .offset = k ? round % 50 : 25};
    CHECK(spool_group_create(ex, &c[k].g) == SPOOL_OK);
  }
  for (int i = 0; i < TASKS; i++) /* interleaved in the queue */
    for (int k = 0; k < 2; k++)
      if (!CHECK(spool_group_submit(c[k].g, member, NULL, &fs[k][i]) == SPOOL_OK)) exit(1);
  pthread_t t[2];
  for (int k = 0; k < 2; k++)
    if (!CHECK(pthread_create(&t[k], NULL, cancel_and_count, &c[k]) == 0)) exit(1);
  atomic_store_explicit(&go, 1, memory_order_release);
  for (int k = 0; k < 2; k++)
    pthread_join(t[k], NULL);
  atomic_store_explicit(&release_blocker, 1, memory_order_release);
  for (int k = 0; k < 2; k++) {
    CHECKF(c[k].pending_after == 0, "round %u: group %d had %d members pending after its cancel",
           round, k, c[k].pending_after);
    CHECKF(c[k].join_after == SPOOL_OK, "round %u: group %d not joinable after its cancel (%d)",
           round, k, c[k].join_after);
    spool_group_destroy(c[k].g);
    for (int i = 0; i < TASKS; i++)
      spool_future_release(fs[k][i]);
  }
  CHECKF(atomic_load_explicit(&member_ran, memory_order_relaxed) == 0,
         "round %u: %d cancelled members ran", round,
         atomic_load_explicit(&member_ran, memory_order_relaxed));
  spool_future_release(b);
  spool_executor_destroy(ex);
}

int main(void) {
  long rounds = stress_budget(100);
  stress_phase("group cancel against shutdown(cancel_futures)", 300);
  for (long r = 0; r < rounds; r++)
    group_cancel_against_shutdown((unsigned)r);
  stress_phase("two group cancels at once", 300);
  for (long r = 0; r < rounds; r++)
    group_cancel_against_group_cancel((unsigned)r);
  watchdog_disarm();
  return stress_report();
}
