/* Deadlines for cooperative waits: a per-executor min-heap of timers.
 *
 * Workers fire due timers in their loop (worker_find_work) and, when idle,
 * sleep no longer than the earliest deadline, so a task suspended with a
 * timeout is resumed on time without any thread polling, and an executor
 * whose only task waits with a long timeout uses no CPU meanwhile. */
#ifndef SPOOL_TIMER_H
#define SPOOL_TIMER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

struct worker;

#define TIMER_NOT_QUEUED SIZE_MAX

typedef struct timer timer;
struct timer {
  int64_t deadline; /* absolute CLOCK_MONOTONIC ns; immutable while queued */
  /* Called once, under the heap's lock, by the worker that finds the timer
     due (after it was taken off the heap). Must not take the heap's lock. */
  void (*fire)(timer *t, struct worker *self);
  size_t index; /* position in the heap, or TIMER_NOT_QUEUED; under lock */
};

typedef struct timer_heap {
  pthread_mutex_t lock;
  timer **items;   /* a binary min-heap on deadline; under lock */
  size_t len, cap; /* under lock */
  /* The earliest deadline queued, DEADLINE_NONE when empty. Written under
     the lock (seq_cst: the adder's half of the Dekker pattern with a
     sleeping worker's park_prepare(), timer.c); read without the lock by
     workers deciding whether to fire and how long to sleep. */
  _Alignas(SPOOL_CACHE_LINE) _Atomic int64_t earliest;
} timer_heap;

void timer_heap_init(timer_heap *h);
void timer_heap_destroy(timer_heap *h);
/* Queues t. Returns -1 (nothing queued) if the heap cannot grow, 1 if t is
   now the earliest (the caller then wakes a sleeper so it re-reads the
   deadline), else 0. */
int timer_add(timer_heap *h, timer *t);
/* Takes t off the heap if it is still there. After it returns, t's fire
   callback is not running and will not run. */
void timer_cancel(timer_heap *h, timer *t);
/* The earliest deadline (seq_cst; see `earliest`). */
int64_t timer_earliest(timer_heap *h);
/* Whether a timer is due at `now` (a relaxed hint; firing takes the lock). */
bool timer_due(timer_heap *h, int64_t now);
/* Fires every timer due now; `self` is the calling worker. */
void timer_fire_due(timer_heap *h, struct worker *self);

#endif /* SPOOL_TIMER_H */
