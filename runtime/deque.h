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
     spool.h reads and writes: `head`, the newest item of the private list
     (items linked through work_item.next, newest first; NULL when empty),
     the request flag above and the frame fields. Its first three words are
     fixed for programs built with the 0.1 and 0.2 headers, whose inline
     fork and sync then always call the library (deque.c, "Compatibility"). */
  _Alignas(SPOOL_CACHE_LINE) spool__lane lane;
  int64_t owner_split;        /* the owner's copy of split */
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

/* A deque with room for 2^log_capacity public items before it grows. */
bool deque_init(deque *d, unsigned log_capacity);

/* A lane with an empty private list, whose old words send the 0.1 and 0.2
   headers' inline path to the library, and whose request flag is *request
   (also for the idle lane of threads that are no worker, executor.c). */
void deque_lane_init(spool__lane *lane, const _Atomic int *request);

/* Frees the buffers; the deque must be quiescent. */
void deque_destroy(deque *d);

/* Owner only. Pushes at the bottom and publishes everything private, so
   thieves (and a shutdown's drain) can take it: for submitted tasks and
   continuations. False when the ring is full and cannot grow (nothing is
   pushed then, and the private items stay private). *answered is set when
   the push answered a thief's request: the caller must then wake a sleeper
   with park_notify(). */
bool deque_push(deque *d, work_item *item, bool *answered);

/* Owner only. Makes the private list (all of it, or its older half) public,
   oldest first. Returns true when that answered a thief's request (the
   request is then cleared, and the caller must wake a sleeper with
   park_notify()); with nothing private it publishes nothing and leaves the
   request. Out of memory for a bigger ring, it publishes what fits. */
bool deque_publish(deque *d, bool all);

/* Owner only. Pushes onto the private list: no fence, no read-modify-write,
   no room to find. Published later, when a thief asks (publish_request). */
static inline void deque_push_private(deque *d, work_item *item) {
  item->next = (work_item *)d->lane.head;
  d->lane.head = item;
}

/* Owner only: whether a thief asked for work (the caller then publishes
   with deque_publish() and wakes a sleeper: worker_publish()). */
static inline bool deque_publish_requested(deque *d) {
  /* relaxed: a hint set by thieves (deque.c, "requests"). */
  return __builtin_expect(load_relaxed(&d->publish_request) != 0, 0);
}

/* Owner only. If `item` is the newest private item (no thief can see it),
   removes it and returns true: the fork-join fast path. */
static inline bool deque_take_private_bottom(deque *d, work_item *item) {
  if (d->lane.head != item) return false;
  d->lane.head = item->next;
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

/* Owner only: items in the deque (private and public), racing with thieves;
   walks the private list. */
int64_t deque_size(deque *d);

/* Any thread: whether the public region holds items, with seq_cst loads,
   for the re-check of the sleep protocol (park.c). */
bool deque_nonempty_seq_cst(deque *d);

/* Owner only: the bottom item without popping it, or NULL. */
work_item *deque_peek_bottom(deque *d);

#endif /* SPOOL_DEQUE_H */
