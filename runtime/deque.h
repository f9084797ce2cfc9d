/* The work-stealing deque of one worker: Chase-Lev with an owner-private
   region at the bottom (see deque.c for the protocol). */
#ifndef SPOOL_DEQUE_H
#define SPOOL_DEQUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spool.h"

#include "atomics.h"
#include "work.h"

typedef struct deque_buffer {
  int64_t mask; /* capacity - 1; capacity is a power of two */
  struct deque_buffer *retired_next;
  _Atomic(work_item *) slots[];
} deque_buffer;

typedef struct deque {
  /* Thieves' end. Written by thieves and by the owner when it takes the last
     public item (CAS); read by everyone. */
  _Alignas(SPOOL_CACHE_LINE) _Atomic(int64_t) top;
  /* Thieves between their load of `buffer` and the end of their read of
     the ring (deque.c, "Reclamation"). On top's line: a thief that gets
     this far writes that line anyway, with its CAS. */
  _Atomic(int64_t) thieves;

  /* End of the public region [top, split). Written by the owner only
     (release when it grows, seq_cst when it shrinks); read by thieves. */
  _Alignas(SPOOL_CACHE_LINE) _Atomic(int64_t) split;
  /* The current ring. Written by the owner (on growth); read by thieves. */
  _Atomic(deque_buffer *) buffer;

  /* Set by a thief that found the public region empty; cleared by the
     owner when it publishes. Written by both, so on a line of its own. */
  _Alignas(SPOOL_CACHE_LINE) _Atomic(int) publish_request;

  /* Owner-only fields: no other thread reads them (lane.forks aside, a
     statistic). The lane is the part the inline fork-join fast path of
     spool.h reads and writes: bottom (one past the last item), split (the
     owner's copy of split), mask and slots (of owner_buffer), push_limit
     (top_bound + capacity: a push below it needs no room check). */
  _Alignas(SPOOL_CACHE_LINE) spool__lane lane;
  int64_t top_bound;          /* a lower bound of top */
  deque_buffer *owner_buffer; /* the owner's copy of buffer */
  /* Rings replaced by growth or shrinking, which a thief may still be
     reading: freed when no thief is inside a steal's read (deque.c,
     "Reclamation"), at the latest by deque_destroy(). */
  deque_buffer *retired;
  int64_t initial_mask; /* the ring's mask at deque_init(): trimmed back to it */
} deque;

/* spool.h's inline fork reads the request flag at a fixed distance from
   the lane, saving the load of lane.publish_request. */
_Static_assert(offsetof(deque, publish_request) - offsetof(deque, lane) ==
                   (size_t)SPOOL__LANE_REQUEST_OFFSET,
               "spool.h: SPOOL__LANE_REQUEST_OFFSET");

typedef enum steal_status { STEAL_EMPTY, STEAL_LOST_RACE, STEAL_OK } steal_status;

/* A deque with room for 2^log_capacity items before it grows. */
bool deque_init(deque *d, unsigned log_capacity);

/* The ring's slots as the owner sees them. */
static inline _Atomic(work_item *) *deque_slots(deque *d) {
  return (_Atomic(work_item *) *)d->lane.slots;
}
/* Frees the buffers; the deque must be quiescent. */
void deque_destroy(deque *d);

/* Owner only. Pushes at the bottom and publishes everything private, so
   thieves (and a shutdown's drain) can take it: for submitted tasks and
   continuations. False when the deque is full and cannot grow. *answered
   is set when the push answered a thief's request: the caller must then
   wake a sleeper with park_notify(). */
bool deque_push(deque *d, work_item *item, bool *answered);

/* Owner only. Makes the private region (all of it, or about half) public.
   Returns true when that answered a thief's request (the request is then
   cleared, and the caller must wake a sleeper with park_notify()); with
   nothing private it publishes nothing and leaves the request. */
bool deque_publish(deque *d, bool all);

/* Owner only, out of line: the full-ring case of deque_push_private(). */
bool deque_push_private_slow(deque *d, work_item *item);

/* Owner only. Pushes into the private region: no fence, no read-modify-
   write. Published later, when a thief asks (publish_request). */
static inline bool deque_push_private(deque *d, work_item *item) {
  int64_t b = d->lane.bottom;
  if (__builtin_expect(b - d->top_bound > d->lane.mask, 0)) return deque_push_private_slow(d, item);
  /* relaxed: the slot is published to thieves by the release store of
     split in deque_publish(); only the owner reads it before that. */
  store_relaxed(&deque_slots(d)[b & d->lane.mask], item);
  d->lane.bottom = b + 1;
  return true;
}

/* Owner only: whether a thief asked for work (the caller then publishes
   with deque_publish() and wakes a sleeper: worker_publish()). */
static inline bool deque_publish_requested(deque *d) {
  /* relaxed: a hint set by thieves (deque.c, "requests"). */
  return __builtin_expect(load_relaxed(&d->publish_request) != 0, 0);
}

/* Owner only. If `item` is the bottom item of the private region, removes
   it and returns true: the fork-join fast path (no fence, no RMW). */
static inline bool deque_take_private_bottom(deque *d, work_item *item) {
  int64_t b = d->lane.bottom - 1;
  /* relaxed: the owner wrote this slot. */
  if (b < d->lane.split || load_relaxed(&deque_slots(d)[b & d->lane.mask]) != item) return false;
  d->lane.bottom = b;
  return true;
}

/* Owner only. Pops the bottom item, private or public; NULL when empty. */
work_item *deque_pop(deque *d);

/* Any thread. Takes the top public item into *out (and its index into
   *index); STEAL_LOST_RACE when another thread took it first. An empty
   public region sets the request. */
steal_status deque_steal_at(deque *d, work_item **out, int64_t *index);
static inline steal_status deque_steal(deque *d, work_item **out) {
  int64_t index;
  return deque_steal_at(d, out, &index);
}

/* Any thread, before it sleeps (after announcing it, park_prepare()): asks
   the owner to publish, with the ordering that makes the hand-off free of
   lost wake-ups (deque.c, "requests"). */
void deque_request_publish(deque *d);

/* Owner only, between tasks (never while a task of this worker runs on
   this stack between a fork and the sync that reads the lane, as the idle
   path of the worker loop is). If the deque is empty and its ring grew, it
   goes back to the initial size; retired rings that no thief can still be
   reading are freed. Returns true when nothing is left to reclaim (no
   retired ring, ring at its initial size), false when a thief was inside
   or the deque held items or the small ring could not be allocated: the
   caller may try again later. */
bool deque_trim(deque *d);

/* Owner only: bytes held in rings (current and retired), for tests. */
size_t deque_ring_bytes(deque *d);

/* Owner only: items in the deque (private and public), racing with thieves. */
int64_t deque_size(deque *d);

/* Any thread: whether the public region holds items, with seq_cst loads,
   for the re-check of the sleep protocol (park.c). */
bool deque_nonempty_seq_cst(deque *d);

/* Owner only: the bottom item without popping it, or NULL. */
work_item *deque_peek_bottom(deque *d);

#endif /* SPOOL_DEQUE_H */
