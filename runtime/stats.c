/* spool_stats_read: per-worker counters, written by their owner only. */
#include "internal.h"

#include <string.h>

void stats_count_cancelled(spool_executor *ex, worker *self) {
  if (self) STAT_ADD(self, cancelled, 1);
  /* relaxed: a statistic, read by spool_stats_read() only. */
  else
    fetch_add_relaxed(&ex->ext_cancelled, 1);
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
  out->seconds_asleep += (double)load_relaxed(&w->stats.ns_asleep) * 1e-9;
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
