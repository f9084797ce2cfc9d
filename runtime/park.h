/* Sleeping and waking: futex-based events (see park.c for the protocols). */
#ifndef SPOOL_PARK_H
#define SPOOL_PARK_H

#include <stdbool.h>
#include <stdint.h>

#include "atomics.h"

/* ---- Deadlines ---------------------------------------------------------- */

/* An absolute CLOCK_MONOTONIC time in ns; DEADLINE_NONE waits forever. */
#define DEADLINE_NONE INT64_MAX
int64_t clock_now_ns(void);
/* The deadline `timeout` seconds from now (negative: forever). The caller
   has rejected NaN. */
int64_t deadline_after(double timeout);

/* ---- Futex -------------------------------------------------------------- */

/* Sleeps while *word == expected, until woken or the deadline; returns false
   on timeout. Spurious returns are possible: callers re-check. */
bool futex_wait_until(_Atomic uint32_t *word, uint32_t expected, int64_t deadline);
void futex_wake(_Atomic uint32_t *word, int count);

/* ---- Events: a waiter sleeps until a signal newer than what it has seen -- */

typedef struct event {
  /* Bumped by every signal (release); waiters read it (acquire) before they
     check their condition and sleep on it with the futex. */
  _Atomic uint32_t seq;
  /* Threads inside event_wait(); a signal skips the system call when 0. */
  _Atomic uint32_t waiters;
} event;

void event_init(event *e);
/* Step 1 of a wait: returns the sequence number to pass to event_wait(). */
uint32_t event_prepare(event *e);
/* Step 3 (after re-checking the condition): sleeps unless a signal came
   after event_prepare(). Returns false on timeout. */
bool event_wait(event *e, uint32_t seen, int64_t deadline);
/* Instead of event_wait(), when the re-check found the condition true. */
void event_cancel(event *e);
/* Wakes every waiter. */
void event_signal(event *e);

/* ---- The workers' sleep ("parking lot") ---------------------------------- */

typedef struct park_lot {
  /* Futex word the idle workers sleep on; bumped by every wake. */
  _Alignas(SPOOL_CACHE_LINE) _Atomic uint32_t epoch;
  /* Workers between park_prepare() and the end of park_sleep(). */
  _Atomic int32_t sleepers;
  /* 1 while a wake from the relaxed path is on its way to a sleeper, so a
     burst of pushes makes one system call, not one each. */
  _Atomic int32_t waking;
} park_lot;

void park_init(park_lot *lot);
/* Worker, going to sleep: announce it; returns the epoch to sleep on. The
   caller must then re-check every queue and call park_cancel() if it finds
   work, or park_sleep() if it does not. */
uint32_t park_prepare(park_lot *lot);
void park_cancel(park_lot *lot);
/* Sleeps until woken or the deadline (DEADLINE_NONE: no deadline); returns
   the nanoseconds spent asleep. */
int64_t park_sleep(park_lot *lot, uint32_t epoch, int64_t deadline);
/* After publishing work: wakes a sleeper if there is one. Safe against lost
   wake-ups (seq_cst fence before reading the sleepers). */
void park_notify(park_lot *lot);
/* After publishing work on one's own deque while awake: cheaper, may miss a
   worker that is just falling asleep (see park.c for why that is allowed). */
void park_notify_relaxed(park_lot *lot);
/* Wakes every sleeper (shutdown). */
void park_notify_all(park_lot *lot);
/* The same, safe against lost wake-ups like park_notify(), and without a
   system call when nobody sleeps: after a new earliest timer deadline,
   which every sleeper must re-read (timer.c). */
void park_notify_every(park_lot *lot);

#endif /* SPOOL_PARK_H */
