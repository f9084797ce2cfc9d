/* The work-stealing deque: Chase-Lev, with an owner-private region.
 *
 * The public part is the Chase-Lev dynamic circular deque (D. Chase and
 * Y. Lev, SPAA 2005) with the C11 orderings of N. M. Lê, A. Pop, A. Cohen
 * and F. Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak
 * Memory Models", PPoPP 2013, access by access; the owner-private region at
 * the bottom follows the split deque of T. van Dijk and J. van de Pol,
 * "Lace: Non-blocking Split Deque for Work-Stealing", Euro-Par 2014.
 * tests/relacy/ model-checks both with the same orderings.
 *
 * Layout. Items live in a ring at indices [top, bottom):
 *
 *     top            split              bottom
 *      | public: thieves |  private: owner  |
 *
 * Thieves see [top, split) only. The owner pushes and pops at bottom.
 *
 * Invariants.
 *   I1. top <= split <= bottom, except inside the owner's public pop, which
 *       moves split (and bottom) down by one and restores it if it lost.
 *   I2. `bottom`, `split` and the ring are written by the owner only; `top`
 *       only grows, by a successful CAS (thieves, or the owner taking the
 *       last public item), so each index is taken by one thread at most.
 *   I3. A slot is published to thieves by the release store of split that
 *       covers it (thieves load split with acquire): a thief that reads
 *       split > i reads the item at i.
 *   I4. The owner's private operations (push_private, take_private_bottom,
 *       the private branch of pop) touch indices >= split only, which no
 *       thief reads: they need no fence and no read-modify-write. spool.h's
 *       inline fork and sync are the same two operations, compiled into the
 *       user's code and run on the owner's thread (they reach the owner's
 *       fields through `lane`, found by the thread's spool__tls_lane), so
 *       the argument covers them: they write slots >= split and `bottom`,
 *       and read the request flag as the owner's fork does.
 *   I5. For the public region the owner plays Chase-Lev's owner with split
 *       in the role of bottom: its pop stores split - 1, fences (seq_cst),
 *       reads top; a thief reads top, fences (seq_cst), reads split. By the
 *       Dekker argument one of them sees the other, and the last item is
 *       decided by the CAS on top.
 *
 * Requests. A thief that finds the public region empty sets
 * publish_request (a cheap store, if it is clear); the owner reads it
 * (relaxed) on each fork and each pop of its loop (worker.c, forkjoin.c)
 * and then publishes about half of its private items (release store of
 * split), so idle workers get work while a busy owner pays nothing. Only a
 * publication clears a request, and it does so with an exchange; the owner
 * then wakes a sleeper (park_notify). A thief about to sleep, after it has
 * announced its sleep (park_prepare) and before its re-check, requests
 * again on every victim with a seq_cst exchange (deque_request_publish).
 * Invariant: a sleeping thief has a request standing on every victim, or
 * the victim's owner will wake it. In the order of modifications of a
 * victim's flag, either the owner's clearing exchange comes after the
 * thief's, reads it (or a later RMW of the same release sequence) and so
 * sees the thief's announcement when it looks for sleepers, or it comes
 * before, and the thief's request stands for the owner's next push. (A
 * plain re-check is not enough: published items may be taken back by their
 * owner before the thief looks, leaving it asleep behind a cleared request;
 * tests/forkjoin/idle_thief.c found that.) A relaxed load may see a request
 * late; the owner runs its private items itself meanwhile, so that costs
 * parallelism, never progress. Before the owner blocks or parks a task it
 * publishes everything (worker.c).
 *
 * Growth. A full ring is copied into one twice the size and published with
 * a release store of `buffer`; thieves that loaded the old pointer may still
 * read it, so the old ring is kept on `retired` until deque_destroy(), when
 * no thread can be inside a call. Their sizes halve, so together they cost
 * at most the current ring's size. */
#include "deque.h"

#include <stdlib.h>

static deque_buffer *buffer_new(int64_t capacity) {
  deque_buffer *b = malloc(sizeof *b + (size_t)capacity * sizeof b->slots[0]);
  if (!b) return NULL;
  b->mask = capacity - 1;
  b->retired_next = NULL;
  return b;
}

static inline work_item *buffer_get(deque_buffer *b, int64_t i) {
  /* relaxed: ordered by the acquire of split (thieves, I3) or written by
     the reader itself (owner). */
  return load_relaxed(&b->slots[i & b->mask]);
}

/* Owner only: the room left in the ring, for the inline fork of spool.h. */
static void deque_set_limit(deque *d) {
  d->lane.push_limit = d->top_bound + d->lane.mask + 1;
}

/* Owner only: the lane's copy of the ring. */
static void deque_set_ring(deque *d, deque_buffer *b) {
  d->owner_buffer = b;
  d->lane.slots = (void **)b->slots;
  d->lane.mask = b->mask;
  deque_set_limit(d);
}

bool deque_init(deque *d, unsigned log_capacity) {
  deque_buffer *b = buffer_new((int64_t)1 << log_capacity);
  if (!b) return false;
  atomic_init(&d->top, 0);
  atomic_init(&d->split, 0);
  atomic_init(&d->buffer, b);
  atomic_init(&d->publish_request, 0);
  d->lane = (spool__lane){0};
  /* relaxed loads of it by the inline fork pair with thieves' stores. */
  d->lane.publish_request = (const int *)&d->publish_request;
  d->top_bound = 0;
  deque_set_ring(d, b);
  d->retired = NULL;
  return true;
}

void deque_destroy(deque *d) {
  free(d->owner_buffer);
  for (deque_buffer *r = d->retired; r;) {
    deque_buffer *next = r->retired_next;
    free(r);
    r = next;
  }
  d->retired = NULL;
  d->owner_buffer = NULL;
}

/* Owner only: copies [top, bottom) into a ring twice the size. */
static deque_buffer *deque_grow(deque *d, int64_t top) {
  deque_buffer *old = d->owner_buffer;
  deque_buffer *b = buffer_new((old->mask + 1) * 2);
  if (!b) return NULL;
  for (int64_t i = top; i < d->lane.bottom; i++)
    /* relaxed: published with the new ring by the release store below */
    store_relaxed(&b->slots[i & b->mask], buffer_get(old, i));
  old->retired_next = d->retired;
  d->retired = old;
  deque_set_ring(d, b);
  /* release: pairs with the acquire load of buffer in deque_steal(), so a
     thief that sees the new ring sees the copied slots. */
  store_release(&d->buffer, b);
  return b;
}

/* Owner only: room for one more item, growing if the ring is full. */
static deque_buffer *deque_room(deque *d) {
  deque_buffer *buf = d->owner_buffer;
  if (d->lane.bottom - d->top_bound <= buf->mask) return buf;
  /* acquire: pairs with the CAS on top in deque_steal(), so a slot a thief
     has vacated is not overwritten before the thief has read it. */
  d->top_bound = load_acquire(&d->top);
  deque_set_limit(d);
  if (d->lane.bottom - d->top_bound <= buf->mask) return buf;
  return deque_grow(d, d->top_bound);
}

bool deque_push_private_slow(deque *d, work_item *item) {
  deque_buffer *buf = deque_room(d);
  if (!buf) return false;
  /* relaxed: published later by deque_publish() (I3). */
  store_relaxed(&buf->slots[d->lane.bottom & buf->mask], item);
  d->lane.bottom++;
  return true;
}

bool deque_publish(deque *d, bool all) {
  int64_t b = d->lane.bottom, s = d->lane.split;
  /* Nothing private: leave a request standing for the next push, so that a
     thief is never left asleep behind a cleared request (file comment). */
  if (b <= s) return false;
  int64_t to = all ? b : s + (b - s + 1) / 2;
  d->lane.split = to;
  /* release fence + relaxed store: pairs with the acquire load of split in
     deque_steal(); publishes the slots below `to` (I3). A fence rather than
     a release store, so that the later relaxed stores of split in
     deque_pop_public() are covered too without relying on C11's
     release-sequence rule for plain stores (dropped in C++20). */
  fence_release_then_store(&d->split, to);
  /* relaxed: the cheap test; the exchange below decides. */
  if (!load_relaxed(&d->publish_request)) return false;
  /* acq_rel exchange: pairs with the seq_cst exchange in
     deque_request_publish() by a thief about to sleep (an RMW, so it reads
     the latest request and synchronises with every thief whose request it
     clears); the caller's park_notify() then sees that thief counted among
     the sleepers and wakes it (file comment, "requests"). */
  return atomic_exchange_explicit(&d->publish_request, 0, memory_order_acq_rel) != 0;
}

bool deque_push(deque *d, work_item *item, bool *answered) {
  deque_buffer *buf = deque_room(d);
  *answered = false;
  if (!buf) return false;
  /* relaxed: published by the release store of split just below. */
  store_relaxed(&buf->slots[d->lane.bottom & buf->mask], item);
  d->lane.bottom++;
  *answered = deque_publish(d, true);
  return true;
}

/* The owner's pop of the bottom public item (I5): Chase-Lev's take with
   split as its bottom. Only called with the private region empty. */
static work_item *deque_pop_public(deque *d) {
  int64_t s = d->lane.split - 1;
  /* relaxed store + seq_cst fence, then top: the owner's half of the Dekker
     pattern; pairs with the fence in deque_steal(). */
  store_then_fence_seq_cst(&d->split, s);
  int64_t t = load_relaxed(&d->top);
  /* top_bound is not refreshed from this relaxed load: a bound used to
     overwrite slots must come from the acquire in deque_room(). */
  if (t > s) { /* empty: restore (relaxed: thieves that saw s saw empty) */
    store_relaxed(&d->split, s + 1);
    return NULL;
  }
  work_item *item = buffer_get(d->owner_buffer, s);
  d->lane.split = s;
  d->lane.bottom = s;
  if (t == s) {
    /* The last public item: race the thieves for it through top.
       seq_cst CAS: pairs with the CAS in deque_steal() (I2). */
    if (!cas_seq_cst(&d->top, &t, t + 1)) item = NULL;
    d->lane.split = d->lane.bottom = s + 1;
    /* relaxed: top == split now; a thief reading either value sees empty. */
    store_relaxed(&d->split, s + 1);
  }
  return item;
}

work_item *deque_pop(deque *d) {
  int64_t b = d->lane.bottom;
  if (b > d->lane.split) { /* private (I4) */
    d->lane.bottom = --b;
    return buffer_get(d->owner_buffer, b);
  }
  /* relaxed: a cheap emptiness check; the public pop decides for real. */
  if (d->lane.split <= load_relaxed(&d->top)) return NULL;
  return deque_pop_public(d);
}

steal_status deque_steal(deque *d, work_item **out) {
  *out = NULL;
  /* acquire: pairs with the CAS on top by other thieves and the owner. */
  int64_t t = load_acquire(&d->top);
  /* seq_cst fence, then split: the thief's half of the Dekker pattern with
     the owner's public pop (I5); acquire: pairs with the release store of
     split in deque_publish(), so the slot is visible (I3). */
  int64_t s = fence_seq_cst_then_load_acquire(&d->split);
  if (t >= s) {
    /* relaxed: a hint for the owner; set only if clear, so idle thieves do
       not keep writing the owner's line. */
    if (!load_relaxed(&d->publish_request)) store_relaxed(&d->publish_request, 1);
    return STEAL_EMPTY;
  }
  /* acquire: pairs with the release store of buffer in deque_grow(). */
  deque_buffer *buf = load_acquire(&d->buffer);
  work_item *item = buffer_get(buf, t);
  /* seq_cst CAS: pairs with the owner's CAS in deque_pop_public() and other
     thieves'; the winner alone owns index t (I2). */
  if (!cas_seq_cst(&d->top, &t, t + 1)) return STEAL_LOST_RACE;
  *out = item;
  return STEAL_OK;
}

void deque_request_publish(deque *d) {
  /* seq_cst exchange, after the caller's seq_cst announcement of its sleep:
     pairs with the exchange in deque_publish(); see "requests". */
  atomic_exchange_explicit(&d->publish_request, 1, memory_order_seq_cst);
}

int64_t deque_size(deque *d) {
  /* relaxed: an estimate; exact when no thief is active. */
  int64_t n = d->lane.bottom - load_relaxed(&d->top);
  return n > 0 ? n : 0;
}

bool deque_nonempty_seq_cst(deque *d) {
  /* seq_cst: after the sleeper's seq_cst announcement; pairs with the fence
     in park_notify() after a publication (park.c, Dekker). */
  int64_t t = load_seq_cst(&d->top);
  int64_t s = load_seq_cst(&d->split);
  return s > t;
}

work_item *deque_peek_bottom(deque *d) {
  int64_t b = d->lane.bottom;
  /* relaxed: a stale top only makes the caller try a pop, which decides. */
  if (b <= load_relaxed(&d->top)) return NULL;
  return buffer_get(d->owner_buffer, b - 1);
}
