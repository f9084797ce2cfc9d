/* Sizes and checks of the micro-benchmarks shared with the peers (see
   micro.h). */
#include "micro.h"

#include <stdio.h>
#include <stdlib.h>

static const long submit_rt_sizes[4] = {2000, 20000, 100000, 100000};
/* depth 19: 2^20 - 1 = 1,048,575 tasks, issue 3's "tree of 10^6 tasks". */
static const int tree_sizes[4] = {10, 19, 19, 19};

static int submit_rt_prepare(const char *size, void **state, char *err, size_t errlen) {
  submit_rt_state *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->rounds = submit_rt_sizes[bench_size_index(size)];
  *state = s;
  return 0;
}

static void submit_rt_reset(void *state) {
  submit_rt_state *s = state;
  s->wrong = -1; /* until a compute has run */
}

static int submit_rt_check(void *state, char *msg, size_t msglen) {
  submit_rt_state *s = state;
  if (s->wrong == 0) return 0;
  snprintf(msg, msglen, "%ld of %ld round trips returned a wrong result", s->wrong, s->rounds);
  return -1;
}

static void submit_rt_report(void *state, double median_seconds, bench_report *r) {
  submit_rt_state *s = state;
  snprintf(r->params, sizeof r->params, "%ld round trips", s->rounds);
  snprintf(r->value, sizeof r->value, "all results right");
  r->metrics[0].name = "ns_per_roundtrip";
  r->metrics[0].value = median_seconds * 1e9 / (double)s->rounds;
  r->nmetrics = 1;
}

static int tree_prepare(const char *size, void **state, char *err, size_t errlen) {
  unsigned slots = bench_this_impl.worker_slots ? bench_this_impl.worker_slots() : 0;
  tree_state *s = calloc(1, sizeof *s);
  if (!s || slots == 0) goto fail;
  s->depth = tree_sizes[bench_size_index(size)];
  s->expected = (2L << s->depth) - 1;
  s->slots = slots;
  s->counters = aligned_alloc(64, slots * sizeof *s->counters);
  if (!s->counters) goto fail;
  *state = s;
  return 0;
fail:
  free(s);
  snprintf(err, errlen, slots ? "out of memory" : "the runtime reports no worker index");
  return -1;
}

static void tree_reset(void *state) {
  tree_state *s = state;
  for (unsigned i = 0; i < s->slots; i++)
    s->counters[i].tasks = 0;
}

static long tree_total(const tree_state *s) {
  long total = 0;
  for (unsigned i = 0; i < s->slots; i++)
    total += s->counters[i].tasks;
  return total;
}

static int tree_check(void *state, char *msg, size_t msglen) {
  tree_state *s = state;
  long total = tree_total(s);
  if (total == s->expected) return 0;
  snprintf(msg, msglen, "join returned after %ld of %ld tasks", total, s->expected);
  return -1;
}

static void tree_report(void *state, double median_seconds, bench_report *r) {
  tree_state *s = state;
  snprintf(r->params, sizeof r->params, "depth-%d tree, %ld tasks", s->depth, s->expected);
  snprintf(r->value, sizeof r->value, "%ld tasks ran", tree_total(s));
  r->metrics[0].name = "ns_per_task";
  r->metrics[0].value = median_seconds * 1e9 / (double)s->expected;
  r->nmetrics = 1;
}

static void submit_rt_release(void *state) {
  free(state);
}

static void tree_release(void *state) {
  tree_state *s = state;
  if (!s) return;
  free(s->counters);
  free(s);
}

const bench_problem submit_rt_problem = {
    .name = "submit_rt",
    .prepare = submit_rt_prepare,
    .reset = submit_rt_reset,
    .check = submit_rt_check,
    .report = submit_rt_report,
    .release = submit_rt_release,
};

const bench_problem tree_problem = {
    .name = "tree",
    .prepare = tree_prepare,
    .reset = tree_reset,
    .check = tree_check,
    .report = tree_report,
    .release = tree_release,
};
