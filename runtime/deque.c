/* The work-stealing deque: Chase-Lev, with an owner-private list.
 *
 * The public part is the Chase-Lev dynamic circular deque (D. Chase and
 * Y. Lev, SPAA 2005) with the C11 orderings of N. M. Lê, A. Pop, A. Cohen
 * and F. Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak
 * Memory Models", PPoPP 2013, access by access; the owner-private part and
 * its publication on request follow the split deque of T. van Dijk and
 * J. van de Pol, "Lace: Non-blocking Split Deque for Work-Stealing",
 * Euro-Par 2014. tests/relacy/ model-checks both with the same orderings.
 *
 * Layout. Public items live in a ring at indices [top, split); private
 * items in a list linked through work_item.next, newest first, from
 * lane.head. Oldest to newest, the deque is:
 *
 *     top            split
 *      | public: thieves |  private list: owner (head is the newest)
 *
 * Thieves see [top, split) only. The owner pushes and pops at the private
 * end; when the list is empty it pops the public bottom (split - 1).
 * Publication moves the oldest private items into the ring at split.
 *
 * Why a list rather than ring indices for the private part: a fork that
 * writes its slot at bottom and raises bottom reads what the previous fork
 * or sync wrote, so every spawn waits for the last one's store to reach the
 * load (perf/spawn_ladder: 2.8 of the 3.6 ns a typed spawn cost). A list
 * fork stores its own frame's address as the head, and a sync restores the
 * head from its frame: no value passes from one operation to the next
 * through the lane.
 *
 * Invariants.
 *   I1. top <= split, except inside the owner's public pop, which moves
 *       split down by one and restores it if it lost.
 *   I2. `split`, the ring and the private list (lane.head and the `next`
 *       of the items on it) are written by the owner only; `top` only
 *       grows, by a successful CAS (thieves, or the owner taking the last
 *       public item), so each index is taken by one thread at most.
 *   I3. A slot is published to thieves by the release store of split that
 *       covers it (thieves load split with acquire): a thief that reads
 *       split > i reads the item at i, and everything its pusher wrote to
 *       the item before publication.
 *   I4. The private list is read and written by the owner only: no fence,
 *       no read-modify-write. spool.h's inline fork and sync are the push
 *       and the take of its newest item, compiled into the user's code and
 *       run on the owner's thread (they reach the owner's lane through the
 *       thread's spool__tls_lane_list), so the argument covers them. An item is
 *       on the list, or in the ring, or taken: publication unlinks items
 *       before it stores them in the ring, and the list's items are only
 *       ever taken by the owner.
 *   I5. For the public region the owner plays Chase-Lev's owner with split
 *       in the role of bottom: its pop stores split - 1, fences (seq_cst),
 *       reads top; a thief reads top, fences (seq_cst), reads split. By the
 *       Dekker argument one of them sees the other, and the last item is
 *       decided by the CAS on top.
 *   I6. Order: every private item is newer than every public one (a push
 *       goes in front of the list; publication takes the list's oldest
 *       items and puts them above the newest public one), so the owner's
 *       pops, private first, take the newest item first.
 *
 * Compatibility. The 0.1 and 0.2 headers' inline fork pushed at
 * lane.old_bottom while it stayed below lane.old_push_limit, and their sync
 * popped when old_bottom - 1 >= old_split. The lane keeps those words at 0,
 * INT64_MAX and INT64_MIN, so such programs call the library for every fork
 * and sync, and work unchanged (slowly) until rebuilt.
 *
 * Requests. A thief that finds the public region empty sets
 * publish_request (a cheap store, if it is clear); the owner reads it
 * (relaxed) on each fork and each pop of its loop (worker.c, forkjoin.c)
 * and then publishes the older half of its private items (release store
 * of split), so idle workers get work while a busy owner pays nothing.
 * Finding that half walks the list: twice the items published, so a fork
 * pays for its publication once, at most, in constant time. Only a
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
 * publishes everything (worker.c); out of memory for a bigger ring, what
 * fits, and the owner's own loop, which pops its list first, runs the rest.
 *
 * Growth. A publication that does not fit copies the ring into one twice
 * the size, published with a seq_cst store of `buffer`; thieves that loaded
 * the old pointer may still read it, so the old ring goes on the owner's
 * `retired` list.
 *
 * Shrinking. A ring that grew during a burst would otherwise keep its peak
 * size for ever. deque_trim(), called by the owner between tasks (the
 * worker's idle path), replaces a grown ring by one of the initial size
 * when the deque is empty (top == split and no private item, top read
 * with acquire) and retires the big one. Indices do not move, so (as for growth) a thief
 * holding stale top and split can read a slot of the new ring that was
 * never written (calloc'd: it reads NULL) and then loses its CAS: top is
 * already past every index it could have seen published, since the deque
 * was empty when the ring changed, and indices published later are
 * published by a release store of split after the ring's seq_cst store, so
 * a thief that sees them loads the new ring.
 *
 * Reclamation. Invariant R: a retired ring is freed only when no thief can
 * still read it. A thief that found the public region non-empty announces
 * itself with a seq_cst increment of `thieves` (R1) before its seq_cst load
 * of `buffer` (R2), and leaves with a release decrement (R4) after its last
 * read of the ring and its CAS. The owner retires a ring with a seq_cst
 * store of the new pointer (R3) and later, on its own thread, frees the
 * retired list only if a seq_cst load of `thieves` (R5) reads 0. Why R
 * holds: take a thief whose R2 read a retired ring X, and an R5 that
 * follows X's retirement R3 in the owner's program order. R2 read a value
 * older than R3's, so R2 precedes R3 in the single total order S of seq_cst
 * operations; R1 precedes R2 in S (sequenced before), and R3 precedes R5:
 * so R1 precedes R5 in S, and R5 reads R1's increment or a later value of
 * `thieves`. If the thief's decrement R4 is not among what R5 read, the
 * count includes the thief and is not 0. If it is, R5 (an acquire) reads
 * from a release sequence that R4 heads (every later modification of
 * `thieves` is a read-modify-write), so the thief's reads of X happen
 * before R5 and before the free. Thieves that found the region empty never
 * read the ring and are not counted, so an idle thief polling an empty
 * deque cannot hold its reclamation off. The owner tries at every growth
 * (right after R3) and in deque_trim(); deque_destroy() frees the rest,
 * when no thread can be inside a call. tests/relacy/ checks it (with a
 * negative control that frees without R5) and tests/stress/deque_stress.c
 * trims and reclaims while thieves steal. */
#include "deque.h"

#include <stdlib.h>

static deque_buffer *buffer_new(int64_t capacity) {
  /* calloc: a thief with a stale top may read a slot that no push wrote
     (then it loses its CAS); zeroed, that read is of a defined value. */
  deque_buffer *b = calloc(1, sizeof *b + (size_t)capacity * sizeof b->slots[0]);
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

/* Owner only: the ring. */
static void deque_set_ring(deque *d, deque_buffer *b) {
  d->owner_buffer = b;
}

/* The lane's words read by the 0.1 and 0.2 headers' inline path (file
   comment, "Compatibility"): their fork never fits, their sync never finds
   its frame. */
void deque_lane_init(spool__lane *lane, const _Atomic int *request) {
  *lane = (spool__lane){0};
  lane->old_bottom = 0;
  lane->old_split = INT64_MAX;
  lane->old_push_limit = INT64_MIN;
  /* relaxed loads of it by the inline fork pair with thieves' stores. */
  lane->publish_request = (const int *)request;
}

bool deque_init(deque *d, unsigned log_capacity) {
  deque_buffer *b = buffer_new((int64_t)1 << log_capacity);
  if (!b) return false;
  atomic_init(&d->top, 0);
  atomic_init(&d->thieves, 0);
  atomic_init(&d->split, 0);
  atomic_init(&d->buffer, b);
  atomic_init(&d->publish_request, 0);
  deque_lane_init(&d->lane, &d->publish_request);
  d->owner_split = 0;
  d->top_bound = 0;
  deque_set_ring(d, b);
  d->retired = NULL;
  d->initial_mask = b->mask;
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

/* Owner only: frees the retired rings if no thief can still read them
   (file comment, "Reclamation", R5). */
static bool deque_reclaim(deque *d) {
  if (!d->retired) return true;
  /* seq_cst: R5. It follows the owner's seq_cst store of buffer (R3) that
     retired each ring on the list, and pairs with the thieves' seq_cst
     increment (R1) and, as an acquire, with their release decrement (R4). */
  if (load_seq_cst(&d->thieves) != 0) return false;
  for (deque_buffer *r = d->retired; r;) {
    deque_buffer *next = r->retired_next;
    free(r);
    r = next;
  }
  d->retired = NULL;
  return true;
}

/* Owner only: makes b the ring, retiring the old one. */
static void deque_replace_ring(deque *d, deque_buffer *b) {
  deque_buffer *old = d->owner_buffer;
  old->retired_next = d->retired;
  d->retired = old;
  deque_set_ring(d, b);
  /* seq_cst: R3. Pairs with the thieves' seq_cst load of buffer (R2), for
     reclamation; and as a release with its acquire, so a thief that sees
     the new ring sees the slots copied into it. */
  store_seq_cst(&d->buffer, b);
}

/* Owner only: copies [top, split) into a ring twice the size. */
static deque_buffer *deque_grow(deque *d, int64_t top) {
  deque_buffer *old = d->owner_buffer;
  deque_buffer *b = buffer_new((old->mask + 1) * 2);
  if (!b) return NULL;
  for (int64_t i = top; i < d->owner_split; i++)
    /* relaxed: published with the new ring by the seq_cst store of
       deque_replace_ring() */
    store_relaxed(&b->slots[i & b->mask], buffer_get(old, i));
  deque_replace_ring(d, b);
  /* Free the smaller rings now if no thief is inside: a burst then holds
     one ring, not the whole doubling chain. */
  deque_reclaim(d);
  return b;
}

bool deque_trim(deque *d) {
  if (d->owner_buffer->mask > d->initial_mask && !d->lane.head) {
    /* acquire: pairs with the CAS on top in deque_steal(), as in
       deque_room(): the thieves that took the last items read their slots
       before (and they are counted in `thieves` until after that). */
    int64_t t = load_acquire(&d->top);
    if (t == d->owner_split) { /* empty: no index to carry over */
      deque_buffer *b = buffer_new(d->initial_mask + 1);
      if (b) {
        d->top_bound = t;
        deque_replace_ring(d, b);
      }
    }
  }
  return deque_reclaim(d) && d->owner_buffer->mask == d->initial_mask;
}

size_t deque_ring_bytes(deque *d) {
  size_t n = 0;
  for (deque_buffer *r = d->retired; r; r = r->retired_next)
    n += sizeof *r + (size_t)(r->mask + 1) * sizeof r->slots[0];
  deque_buffer *b = d->owner_buffer;
  return n + sizeof *b + (size_t)(b->mask + 1) * sizeof b->slots[0];
}

/* Owner only: how many of `want` more public items fit in the ring, which
   grows (doubling) until all fit or memory runs out. */
static int64_t deque_room(deque *d, int64_t want) {
  deque_buffer *buf = d->owner_buffer;
  int64_t end = d->owner_split + want;
  if (end - d->top_bound <= buf->mask + 1) return want;
  /* acquire: pairs with the CAS on top in deque_steal(), so a slot a thief
     has vacated is not overwritten before the thief has read it. */
  d->top_bound = load_acquire(&d->top);
  while (end - d->top_bound > buf->mask + 1) {
    deque_buffer *bigger = deque_grow(d, d->top_bound);
    if (!bigger) {
      int64_t fit = buf->mask + 1 - (d->owner_split - d->top_bound);
      return fit > 0 ? fit : 0;
    }
    buf = bigger;
  }
  return want;
}

/* Owner only: stores the private list's `count` oldest items (the list
   ends with them; `newest` is the first of them) into the ring at split,
   oldest lowest, and publishes them with one release store of split. */
static void deque_publish_tail(deque *d, work_item *newest, int64_t count) {
  deque_buffer *buf = d->owner_buffer;
  int64_t s = d->owner_split;
  work_item *it = newest;
  for (int64_t i = s + count - 1; i >= s; i--) {
    /* relaxed: published by the release store of split below (I3). */
    store_relaxed(&buf->slots[i & buf->mask], it);
    it = it->next;
  }
  d->owner_split = s + count;
  /* release fence + relaxed store: pairs with the acquire load of split in
     deque_steal(); publishes the slots below it and the items' contents
     (I3). A fence rather than a release store, so that the later relaxed
     stores of split in deque_pop_public() are covered too without relying
     on C11's release-sequence rule for plain stores (dropped in C++20). */
  fence_release_then_store(&d->split, s + count);
}

/* Owner only: moves the oldest `count` items of the private list (of
   `length` items) to the ring. */
static void deque_publish_oldest(deque *d, int64_t length, int64_t count) {
  work_item *keep_last = NULL, *first = (work_item *)d->lane.head;
  for (int64_t k = 0; k < length - count; k++) {
    keep_last = first;
    first = first->next;
  }
  /* Unlinked before they go public (I4): after the release store a thief
     may run an item, and the item's frame may be gone. */
  if (keep_last)
    keep_last->next = NULL;
  else
    d->lane.head = NULL;
  deque_publish_tail(d, first, count);
}

static int64_t private_length(const deque *d) {
  int64_t n = 0;
  for (const work_item *it = d->lane.head; it; it = it->next)
    n++;
  return n;
}

/* Owner only: clears a standing request after a publication; true when
   there was one (the caller wakes a sleeper). */
static bool deque_answer_request(deque *d) {
  /* relaxed: the cheap test; the exchange below decides. */
  if (!load_relaxed(&d->publish_request)) return false;
  /* acq_rel exchange: pairs with the seq_cst exchange in
     deque_request_publish() by a thief about to sleep (an RMW, so it reads
     the latest request and synchronises with every thief whose request it
     clears); the caller's park_notify() then sees that thief counted among
     the sleepers and wakes it (file comment, "requests"). */
  return atomic_exchange_explicit(&d->publish_request, 0, memory_order_acq_rel) != 0;
}

bool deque_publish(deque *d, bool all) {
  int64_t length = private_length(d);
  /* Nothing private: leave a request standing for the next push, so that a
     thief is never left asleep behind a cleared request (file comment). */
  if (length == 0) return false;
  int64_t count = deque_room(d, all ? length : (length + 1) / 2);
  if (count == 0) return false; /* out of memory: the owner runs them */
  deque_publish_oldest(d, length, count);
  return deque_answer_request(d);
}

bool deque_push(deque *d, work_item *item, bool *answered) {
  *answered = false;
  int64_t length = private_length(d);
  if (deque_room(d, length + 1) < length + 1) return false;
  /* The item is the newest: in front of the list, then all of it goes. */
  deque_push_private(d, item);
  deque_publish_oldest(d, length + 1, length + 1);
  *answered = deque_answer_request(d);
  return true;
}

/* The owner's pop of the bottom public item (I5): Chase-Lev's take with
   split as its bottom. Only called with the private list empty. */
static work_item *deque_pop_public(deque *d) {
  int64_t s = d->owner_split - 1;
  /* relaxed store + seq_cst fence, then top: the owner's half of the Dekker
     pattern; pairs with the fence in deque_steal(). */
  store_then_fence_seq_cst(&d->split, s);
  /* relaxed after the fence (seq_cst under TSan, atomics.h) */
  int64_t t = load_after_fence_seq_cst(&d->top);
  /* top_bound is not refreshed from this relaxed load: a bound used to
     overwrite slots must come from the acquire in deque_room(). */
  if (t > s) { /* empty: restore (relaxed: thieves that saw s saw empty) */
    store_relaxed(&d->split, s + 1);
    return NULL;
  }
  work_item *item = buffer_get(d->owner_buffer, s);
  d->owner_split = s;
  if (t == s) {
    /* The last public item: race the thieves for it through top.
       seq_cst CAS: pairs with the CAS in deque_steal() (I2). */
    if (!cas_seq_cst(&d->top, &t, t + 1)) item = NULL;
    d->owner_split = s + 1;
    /* relaxed: top == split now; a thief reading either value sees empty. */
    store_relaxed(&d->split, s + 1);
  }
  return item;
}

work_item *deque_pop(deque *d) {
  work_item *item = d->lane.head;
  if (item) { /* private (I4) */
    d->lane.head = item->next;
    return item;
  }
  /* relaxed: a cheap emptiness check; the public pop decides for real. */
  if (d->owner_split <= load_relaxed(&d->top)) return NULL;
  return deque_pop_public(d);
}

steal_status deque_steal_at(deque *d, work_item **out, int64_t *index) {
  *out = NULL;
  /* acquire: pairs with the CAS on top by other thieves and the owner. */
  int64_t t = load_acquire(&d->top);
  /* seq_cst fence, then split: the thief's half of the Dekker pattern with
     the owner's public pop (I5); acquire: pairs with the release store of
     split in deque_publish_tail(), so the slot is visible (I3). */
  int64_t s = fence_seq_cst_then_load_acquire(&d->split);
  if (t >= s) {
    /* relaxed: a hint for the owner; set only if clear, so idle thieves do
       not keep writing the owner's line. */
    if (!load_relaxed(&d->publish_request)) store_relaxed(&d->publish_request, 1);
    return STEAL_EMPTY;
  }
  /* seq_cst increment: R1 of "Reclamation"; pairs with the owner's seq_cst
     load of thieves (R5), which then does not free a ring this thief may
     read. */
  fetch_add_seq_cst(&d->thieves, 1);
  /* seq_cst: R2; pairs with the seq_cst store of buffer in
     deque_replace_ring() (R3), as an acquire so that the copied slots are
     visible, and in the total order for reclamation. */
  deque_buffer *buf = load_seq_cst(&d->buffer);
  work_item *item = buffer_get(buf, t);
  /* seq_cst CAS: pairs with the owner's CAS in deque_pop_public() and other
     thieves'; the winner alone owns index t (I2). */
  bool won = cas_seq_cst(&d->top, &t, t + 1);
  /* release: R4; the read of the ring above happens before the owner's R5
     that reads this decrement (or a later one), and so before the free. */
  fetch_sub_release(&d->thieves, 1);
  if (!won) return STEAL_LOST_RACE;
  *out = item;
  *index = t;
  return STEAL_OK;
}

void deque_request_publish(deque *d) {
  /* seq_cst exchange, after the caller's seq_cst announcement of its sleep:
     pairs with the exchange in deque_answer_request(); see "requests". */
  atomic_exchange_explicit(&d->publish_request, 1, memory_order_seq_cst);
}

int64_t deque_size(deque *d) {
  /* relaxed: an estimate; exact when no thief is active. */
  int64_t n = d->owner_split - load_relaxed(&d->top);
  return private_length(d) + (n > 0 ? n : 0);
}

bool deque_nonempty_seq_cst(deque *d) {
  /* seq_cst: after the sleeper's seq_cst announcement; pairs with the fence
     in park_notify() after a publication (park.c, Dekker). */
  int64_t t = load_seq_cst(&d->top);
  int64_t s = load_seq_cst(&d->split);
  return s > t;
}

work_item *deque_peek_bottom(deque *d) {
  if (d->lane.head) return d->lane.head;
  int64_t s = d->owner_split;
  /* relaxed: a stale top only makes the caller try a pop, which decides. */
  if (s <= load_relaxed(&d->top)) return NULL;
  return buffer_get(d->owner_buffer, s - 1);
}
