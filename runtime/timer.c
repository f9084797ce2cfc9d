/* Timers: the deadlines of cooperative waits (timer.h).
 *
 * One heap per executor, under a mutex: timers are set once per suspended
 * wait with a finite timeout, not per task, so a lock is cheap enough and
 * keeps cancel simple. `earliest` lets the workers skip the lock: with no
 * timer queued, a worker's check is one relaxed load.
 *
 * Firing and cancelling. A due timer is taken off the heap and its fire
 * callback runs, both under the lock; timer_cancel() takes the same lock.
 * Invariant: once timer_cancel() returns, fire is neither running nor will
 * run, so the timer's memory (on a suspended task's stack) may go. It holds
 * because removal and the callback happen in one critical section, and a
 * timer that is no longer on the heap is never reached again.
 *
 * No sleeper misses a new earliest deadline. A worker about to sleep
 * announces itself (park_prepare: seq_cst increment of sleepers), then reads
 * `earliest` (seq_cst) and sleeps no longer than that. timer_add() stores a
 * new earliest (seq_cst) and the caller then runs park_notify_every()
 * (seq_cst fence, then a load of sleepers). Both sides store, then load the
 * other's variable with seq_cst: either the sleeper sees the new deadline,
 * or the adder sees the sleepers and wakes them all, and each re-reads the
 * deadline. All of them: a single woken sleeper may find queued work and
 * run it, and the rest, asleep since before the timer existed, would sleep
 * past the deadline with nobody idle watching it
 * (tests/suspend/timer_wakes_sleepers.c). A new earliest deadline is rare
 * next to pushes, so the wider wake costs little. */
#include "internal.h"

#include <stdlib.h>

void timer_heap_init(timer_heap *h) {
  pthread_mutex_init(&h->lock, NULL);
  h->items = NULL;
  h->len = h->cap = 0;
  atomic_init(&h->earliest, DEADLINE_NONE);
}

void timer_heap_destroy(timer_heap *h) {
  free(h->items);
  pthread_mutex_destroy(&h->lock);
}

static void heap_set(timer_heap *h, size_t i, timer *t) {
  h->items[i] = t;
  t->index = i;
}

static void heap_sift_up(timer_heap *h, size_t i) {
  timer *t = h->items[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (h->items[parent]->deadline <= t->deadline) break;
    heap_set(h, i, h->items[parent]);
    i = parent;
  }
  heap_set(h, i, t);
}

static void heap_sift_down(timer_heap *h, size_t i) {
  timer *t = h->items[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->len) break;
    if (child + 1 < h->len && h->items[child + 1]->deadline < h->items[child]->deadline) child++;
    if (t->deadline <= h->items[child]->deadline) break;
    heap_set(h, i, h->items[child]);
    i = child;
  }
  heap_set(h, i, t);
}

static void heap_remove_at(timer_heap *h, size_t i) {
  timer *gone = h->items[i];
  gone->index = TIMER_NOT_QUEUED;
  h->len--;
  if (i == h->len) return;
  timer *moved = h->items[h->len];
  heap_set(h, i, moved);
  heap_sift_down(h, i);
  heap_sift_up(h, moved->index); /* no-op if it went down */
}

/* Under the lock, after any change. */
static void heap_publish_earliest(timer_heap *h) {
  /* seq_cst: the adder's store of the Dekker pattern (file comment). */
  store_seq_cst(&h->earliest, h->len ? h->items[0]->deadline : DEADLINE_NONE);
}

int timer_add(timer_heap *h, timer *t) {
  pthread_mutex_lock(&h->lock);
  if (h->len == h->cap) {
    size_t cap = h->cap ? 2 * h->cap : 16;
    timer **items = realloc(h->items, cap * sizeof *items);
    if (!items) {
      pthread_mutex_unlock(&h->lock);
      t->index = TIMER_NOT_QUEUED;
      return -1;
    }
    h->items = items;
    h->cap = cap;
  }
  heap_set(h, h->len++, t);
  heap_sift_up(h, t->index);
  bool first = h->items[0] == t;
  if (first) heap_publish_earliest(h);
  pthread_mutex_unlock(&h->lock);
  return first ? 1 : 0;
}

void timer_cancel(timer_heap *h, timer *t) {
  pthread_mutex_lock(&h->lock);
  if (t->index != TIMER_NOT_QUEUED) {
    heap_remove_at(h, t->index);
    heap_publish_earliest(h);
  }
  pthread_mutex_unlock(&h->lock);
}

int64_t timer_earliest(timer_heap *h) {
  /* seq_cst: the sleeper's load of the Dekker pattern (file comment). */
  return load_seq_cst(&h->earliest);
}

bool timer_due(timer_heap *h, int64_t now) {
  /* relaxed: a hint; timer_fire_due() decides under the lock. */
  return now >= load_relaxed(&h->earliest);
}

void timer_fire_due(timer_heap *h, worker *self) {
  /* relaxed: a hint (see timer_due); no clock read while nothing is queued. */
  int64_t earliest = load_relaxed(&h->earliest);
  if (earliest == DEADLINE_NONE) return;
  int64_t now = clock_now_ns();
  if (now < earliest) return;
  pthread_mutex_lock(&h->lock);
  while (h->len && h->items[0]->deadline <= now) {
    timer *t = h->items[0];
    heap_remove_at(h, 0);
    t->fire(t, self);
  }
  heap_publish_earliest(h);
  pthread_mutex_unlock(&h->lock);
}
