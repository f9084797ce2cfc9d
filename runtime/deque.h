/* The work-stealing deque of one worker (Chase-Lev; see deque.c). */
#ifndef SPOOL_DEQUE_H
#define SPOOL_DEQUE_H

#include <stdbool.h>
#include <stddef.h>

#include "atomics.h"
#include "work.h"

typedef struct deque_buffer deque_buffer;

typedef struct deque {
  /* Thieves' end. Written by thieves and by the owner's pop of the last
     item (CAS); read by everyone. */
  _Alignas(SPOOL_CACHE_LINE) _Atomic(int64_t) top;
  /* Owner's end. Written by the owner only; read by thieves. */
  _Alignas(SPOOL_CACHE_LINE) _Atomic(int64_t) bottom;
  /* The current ring. Written by the owner (on growth); read by thieves. */
  _Atomic(deque_buffer *) buffer;
  /* Buffers replaced by growth, freed by deque_destroy() only: a thief may
     still read one until the deque is quiescent. Their sizes double, so they
     cost at most as much memory as the current buffer. Owner only. */
  deque_buffer *retired;
} deque;

/* Result of a steal attempt. */
typedef enum steal_status { STEAL_EMPTY, STEAL_LOST_RACE, STEAL_OK } steal_status;

/* A deque with room for 2^log_capacity items before it grows. Returns false
   when out of memory. */
bool deque_init(deque *d, unsigned log_capacity);

/* Frees the buffers. The deque must be quiescent (no thread inside any call
   on it) and items still in it are not touched. */
void deque_destroy(deque *d);

/* Owner only. Pushes at the bottom; false (nothing pushed) when the deque is
   full and cannot grow because memory is exhausted. */
bool deque_push(deque *d, work_item *item);

/* Owner only. Pops from the bottom; NULL when empty. */
work_item *deque_pop(deque *d);

/* Any thread. Takes the top item into *out; STEAL_LOST_RACE when another
   thread took it first (the caller may retry). */
steal_status deque_steal(deque *d, work_item **out);

/* Any thread: a racy estimate, exact only when the deque is quiescent. */
int64_t deque_size(deque *d);

/* Any thread: whether the deque holds items, with seq_cst loads, for the
   re-check of the sleep protocol (park.c) that must not miss a push. */
bool deque_nonempty_seq_cst(deque *d);

/* Owner only: the bottom item without popping it, or NULL. */
work_item *deque_peek_bottom(deque *d);

#endif /* SPOOL_DEQUE_H */
