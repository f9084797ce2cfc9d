/* Shared by the loop tests: a body that records every subrange it gets,
 * and the check that the recorded subranges are disjoint, non-empty, no
 * longer than the grain, and cover [begin, end) exactly. Thread-safe (a
 * mutex around the append), so it serves the concurrent programs too. */
#ifndef SPOOL_TEST_LOOPS_RANGES_H
#define SPOOL_TEST_LOOPS_RANGES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "spool.h"

typedef struct subrange {
  size_t lo, hi;
} subrange;

typedef struct ranges {
  pthread_mutex_t lock;
  subrange *items;
  size_t count, capacity;
  bool overflowed;     /* more bodies than capacity */
  bool outside_worker; /* a body ran on a thread that is no worker of ex */
  spool_executor *ex;
} ranges;

static inline void ranges_init(ranges *r, spool_executor *ex, size_t capacity) {
  pthread_mutex_init(&r->lock, NULL);
  r->items = malloc(capacity * sizeof *r->items);
  if (!r->items) abort();
  r->count = 0;
  r->capacity = capacity;
  r->overflowed = false;
  r->outside_worker = false;
  r->ex = ex;
}

static inline void ranges_destroy(ranges *r) {
  free(r->items);
  pthread_mutex_destroy(&r->lock);
}

static inline int ranges_body(size_t lo, size_t hi, void *ctx) {
  ranges *r = ctx;
  bool on_worker = spool_current_executor() == r->ex;
  pthread_mutex_lock(&r->lock);
  if (!on_worker) r->outside_worker = true;
  if (r->count < r->capacity)
    r->items[r->count++] = (subrange){lo, hi};
  else
    r->overflowed = true;
  pthread_mutex_unlock(&r->lock);
  return 0;
}

static inline int subrange_order(const void *a, const void *b) {
  const subrange *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* NULL when the subranges are an exact, disjoint, non-empty cover of
   [begin, end), none longer than grain (if grain > 0); else what is wrong. */
static inline const char *ranges_problem(ranges *r, size_t begin, size_t end, size_t grain) {
  if (r->overflowed) return "more bodies than recorded";
  if (r->outside_worker) return "a body ran outside the executor's workers";
  if (begin >= end) return r->count == 0 ? NULL : "a body ran on an empty range";
  if (r->count == 0) return "no body ran";
  qsort(r->items, r->count, sizeof *r->items, subrange_order);
  size_t at = begin;
  for (size_t i = 0; i < r->count; i++) {
    subrange s = r->items[i];
    if (s.lo >= s.hi) return "an empty subrange";
    if (s.lo != at) return s.lo < at ? "overlapping subranges" : "a gap between subranges";
    if (grain && s.hi - s.lo > grain) return "a subrange longer than the grain";
    at = s.hi;
  }
  return at == end ? NULL : "the subranges stop short of end";
}

#endif /* SPOOL_TEST_LOOPS_RANGES_H */
