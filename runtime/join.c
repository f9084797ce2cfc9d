/* spool_join: distributed termination detection.
 *
 * Counters. Each worker has `created` and `finished`, written by that worker
 * alone (a relaxed increment for created, a release store for finished); the
 * executor has one shared pair for threads that are not workers (atomic RMW).
 * No counter shared by all workers is written per task.
 *
 * The rules every path follows:
 *   R1. A task is counted created before it is published (pushed where a
 *       worker or thief can take it): the count is sequenced before the
 *       push.
 *   R2. A task is counted finished exactly once, after it has returned and
 *       its done callbacks have run, by the thread that ran it, cancelled it
 *       or dropped it. A suspended task is not finished.
 *   Hence a child is counted created before its parent is counted finished:
 *   the child is spawned while the parent runs (R1, R2).
 *
 * The check (join_counts_settled). The joiner reads every `finished` (acquire),
 * then every `created`, and compares the sums F and C.
 *   Claim 1: C >= F, and every task whose finish was read has its creation
 *   read. The finish store of a task happens-after its creation count (R1:
 *   the creation is sequenced before the publication, the publication
 *   synchronises with the take, the take is sequenced before the finish
 *   store). The joiner's acquire load that reads the finish store therefore
 *   happens-after the creation count, and its later load of that `created`
 *   returns it or a later value (write-read coherence).
 *   Claim 2: if C == F, then the set of tasks whose creation was read equals
 *   the set whose finish was read (claim 1 gives inclusion, the counts give
 *   equality), so every such task has finished. Its children were counted
 *   created before it finished, hence were read too (same argument), hence
 *   finished; by induction every task descended from the tasks submitted
 *   before the join started has finished. A task submitted before the join
 *   started was counted before the join's first load.
 *
 * Waking the joiner. A joiner sleeps on join_event (park.c's event). The
 * sums may become equal only when some task finishes: a worker signals when
 * it goes idle after finishing work (its finish store, a seq_cst fence, then
 * a look at the joiner count: Dekker with the joiner's count increment and
 * re-check), and a thread that is not a worker signals after it finishes or
 * cancels a task. A worker that finishes a task and immediately runs another
 * need not signal: the sums cannot be equal while that task is unfinished.
 *
 * Errors. The first error of a fire-and-forget task is kept (CAS from 0);
 * a join that returns takes it with an exchange, so of several joiners
 * exactly one sees it, and a join that times out leaves it. */
#include "internal.h"

#include <math.h>

void join_count_created(spool_executor *ex, worker *self) {
  if (self) {
    /* relaxed: owner-only counter; ordered before the publication by the
       push's release (R1), and read by joiners through claim 1. */
    owner_add_relaxed(&self->created, 1);
  } else {
    /* seq_cst: Dekker with spool_shutdown()'s store of the state (a
       submission either sees the shutdown or is seen by the exiting
       workers' settled check). */
    fetch_add_seq_cst(&ex->ext_created, 1);
  }
}

void join_count_finished(spool_executor *ex, worker *self) {
  if (self) {
#ifdef SPOOL_DEBUG_CHECKS
    /* Owner-only: a caller that kept its worker across a call into user
       code, which may have moved it (issue 9, defect 1), would write the
       counter of a worker another thread runs. */
    if (self != worker_self())
      spool_misuse("internal error: a worker's finished count written from another thread");
#endif
    /* release: pairs with the acquire load of finished in
       join_counts_settled() (claim 1). Owner-only: no RMW. */
    store_release(&self->finished, load_relaxed(&self->finished) + 1);
    self->idle_announced = false;
  } else {
    /* seq_cst (includes release): pairs with the joiner's load; the joiner
       is signalled right away since no worker will go idle for it. */
    fetch_add_seq_cst(&ex->ext_finished, 1);
    event_signal(&ex->join_event);
  }
}

bool join_counts_settled(spool_executor *ex) {
  uint64_t finished = 0, created = 0;
  /* seq_cst loads: acquire for claim 1, and ordered after the joiner's
     seq_cst registration in join_event (the wake-up's Dekker pattern). */
  finished += load_seq_cst(&ex->ext_finished);
  for (unsigned i = 0; i < ex->nworkers; i++)
    finished += load_seq_cst(&ex->workers[i].finished);
  for (unsigned i = 0; i < ex->nworkers; i++)
    created += load_seq_cst(&ex->workers[i].created);
  created += load_seq_cst(&ex->ext_created);
  return created == finished;
}

void join_worker_idle(spool_executor *ex, worker *self) {
  if (self->idle_announced) return;
  self->idle_announced = true;
  /* seq_cst fence, then the joiners: pairs with the seq_cst increment of
     waiters in event_prepare() by the joiner (Dekker; file comment). */
  if (fence_seq_cst_then_load(&ex->join_event.waiters) > 0) event_signal(&ex->join_event);
}

void join_record_error(spool_executor *ex, int error) {
  int none = 0;
  /* acq_rel: pairs with the exchange in spool_join(). */
  cas_acq_rel(&ex->first_error, &none, error);
}

int spool_join(spool_executor *ex, double timeout) {
  if (!ex || isnan(timeout)) return SPOOL_EINVAL;
  worker *self = worker_self();
  if (self && self->ex == ex) return SPOOL_ESTATE;
  int64_t deadline = deadline_after(timeout);
  for (;;) {
    uint32_t seen = event_prepare(&ex->join_event);
    if (join_counts_settled(ex)) {
      event_cancel(&ex->join_event);
      break;
    }
    if (!event_wait(&ex->join_event, seen, deadline) && !join_counts_settled(ex))
      return SPOOL_ETIMEDOUT;
  }
  /* acq_rel: pairs with the CAS in join_record_error(). */
  return exchange_acq_rel(&ex->first_error, 0);
}
