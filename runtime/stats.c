/* spool_stats_read: per-worker counters, written by their owner only. */
#include "internal.h"

#include <sched.h>
#include <string.h>

void stats_count_cancelled(spool_executor *ex, worker *self) {
  if (self) STAT_ADD(self, cancelled, 1);
  /* relaxed: a statistic, read by spool_stats_read() only. */
  else
    fetch_add_relaxed(&ex->ext_cancelled, 1);
}

/* The worker's time asleep, including a sleep in progress: ns_asleep plus
   (now - asleep_since) while asleep_since is set. The owner sets
   asleep_since when a sleep begins (one store), and when it ends adds the
   sleep to ns_asleep and clears asleep_since inside a sequence lock
   (asleep_seq odd meanwhile). Invariant: the pair read here comes from
   one state between the owner's updates, so a sleep is counted once, as
   finished or as in progress. It holds because the reader retries unless
   it read the same even sequence before and after the pair: the owner's
   stores of the pair are releases after its odd store, so a reader that
   acquires either new value then reads an odd or newer sequence; and its
   final even store is a release after them, so a reader that acquires it
   reads both. (Re-reading asleep_since alone was not enough: between the
   total's update and the clear, the reader paired the new total with the
   old start and counted the sleep twice; tests/hardening/
   stats_asleep_window.c.) */
static uint64_t worker_ns_asleep(worker *w) {
  for (unsigned spins = 0;; spins++) {
    /* acquire: pairs with the owner's release store of the even sequence. */
    uint32_t seq = load_acquire(&w->stats.asleep_seq);
    if (seq & 1) {
      /* The owner is inside its few stores; yield now and then, in case
         it was preempted there and this thread holds its CPU. */
      if ((spins & 63) == 63)
        sched_yield();
      else
        cpu_relax();
      continue;
    }
    /* acquire: pair with the owner's release stores (worker.c); each keeps
       the sequence's second read below after it. */
    int64_t since = load_acquire(&w->stats.asleep_since);
    uint64_t ns = load_acquire(&w->stats.ns_asleep);
    /* acquire: as the first read */
    if (load_acquire(&w->stats.asleep_seq) != seq) continue;
    if (since == 0) return ns;
    int64_t now = clock_now_ns();
    return ns + (uint64_t)(now > since ? now - since : 0);
  }
}

static void stats_add(spool_stats *out, worker *w) {
  /* relaxed: statistics, not synchronisation. */
  out->tasks_run += load_relaxed(&w->stats.tasks_run);
  out->steals_tried += load_relaxed(&w->stats.steals_tried);
  out->steals_won += load_relaxed(&w->stats.steals_won);
  out->inline_claims += load_relaxed(&w->stats.inline_claims);
  out->suspends += load_relaxed(&w->stats.suspends);
  out->resumes += load_relaxed(&w->stats.resumes);
  /* relaxed: pairs with the owner's relaxed stores in the forks. */
  out->forks += __atomic_load_n(&w->dq.lane.forks, __ATOMIC_RELAXED);
  out->forks_stolen += load_relaxed(&w->stats.forks_stolen);
  out->cancelled += load_relaxed(&w->stats.cancelled);
  out->nested_waits += load_relaxed(&w->stats.nested_waits);
  out->seconds_asleep += (double)worker_ns_asleep(w) * 1e-9;
}

int spool_stats_read(spool_executor *ex, int which, spool_stats *out) {
  if (!ex || !out) return SPOOL_EINVAL;
  if (which < -1 || which >= (int)ex->nworkers) return SPOOL_EINVAL;
  memset(out, 0, sizeof *out);
  if (which >= 0) {
    stats_add(out, &ex->workers[which]);
    return SPOOL_OK;
  }
  for (unsigned i = 0; i < ex->nworkers; i++)
    stats_add(out, &ex->workers[i]);
  out->cancelled += load_relaxed(&ex->ext_cancelled); /* relaxed: a statistic */
  return SPOOL_OK;
}
