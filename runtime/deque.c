/* The Chase-Lev work-stealing deque.
 *
 * D. Chase and Y. Lev, "Dynamic Circular Work-Stealing Deque", SPAA 2005,
 * with the C11 memory orderings of N. M. Lê, A. Pop, A. Cohen and
 * F. Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak Memory
 * Models", PPoPP 2013 (figure 1), access by access. tests/relacy/ checks a
 * model with the same orderings.
 *
 * Layout. Items live in a ring buffer at indices [top, bottom). The owner
 * pushes and pops at `bottom`; thieves take at `top`.
 *
 * Invariants.
 *   1. `bottom` is written only by the owner; `top` only grows, and only
 *      by a successful CAS (thieves, and the owner when it takes the last
 *      item), so an index is taken by at most one thread.
 *   2. top <= bottom whenever the owner is not inside pop(); inside pop()
 *      the owner may decrement bottom below top for a moment and restores it.
 *   3. A slot index i is written only by push while i >= bottom is not yet
 *      published; it is published by the store of bottom = i + 1 that
 *      follows a release fence, so a thief that reads bottom > i (acquire)
 *      reads the item.
 *   4. The owner's pop and a thief's steal contend for the last item through
 *      top: each writes/reads its own index then a seq_cst fence, then reads
 *      the other's (Dekker), so at least one of them sees the conflict and
 *      the tie is broken by the CAS on top.
 *
 * Growth. A full ring is copied into one twice its size and published with a
 * release store of `buffer`; thieves that loaded the old pointer may still
 * read it, so the old ring is kept on `retired` and freed by deque_destroy()
 * when no thread can be inside a call. The retired rings' sizes halve, so
 * they add at most the current ring's size in memory. */
#include "deque.h"

#include <stdlib.h>

struct deque_buffer {
  int64_t mask; /* capacity - 1; capacity is a power of two */
  deque_buffer *retired_next;
  _Atomic(work_item *) slots[];
};

static deque_buffer *buffer_new(int64_t capacity) {
  deque_buffer *b = malloc(sizeof *b + (size_t)capacity * sizeof b->slots[0]);
  if (!b) return NULL;
  b->mask = capacity - 1;
  b->retired_next = NULL;
  return b;
}

static inline work_item *buffer_get(deque_buffer *b, int64_t i) {
  /* relaxed: the item was published by the push's release fence + bottom
     store; the reader ordered its read after an acquire of bottom/top. */
  return load_relaxed(&b->slots[i & b->mask]);
}

static inline void buffer_put(deque_buffer *b, int64_t i, work_item *w) {
  /* relaxed: published by the release fence before the store of bottom. */
  store_relaxed(&b->slots[i & b->mask], w);
}

bool deque_init(deque *d, unsigned log_capacity) {
  deque_buffer *b = buffer_new((int64_t)1 << log_capacity);
  if (!b) return false;
  atomic_init(&d->top, 0);
  atomic_init(&d->bottom, 0);
  atomic_init(&d->buffer, b);
  d->retired = NULL;
  return true;
}

void deque_destroy(deque *d) {
  free(load_relaxed(&d->buffer));
  for (deque_buffer *r = d->retired; r;) {
    deque_buffer *next = r->retired_next;
    free(r);
    r = next;
  }
  d->retired = NULL;
}

/* Owner only: copies [top, bottom) into a ring twice the size. */
static deque_buffer *deque_grow(deque *d, deque_buffer *old, int64_t top, int64_t bottom) {
  deque_buffer *b = buffer_new((old->mask + 1) * 2);
  if (!b) return NULL;
  for (int64_t i = top; i < bottom; i++)
    buffer_put(b, i, buffer_get(old, i));
  old->retired_next = d->retired;
  d->retired = old;
  /* release: pairs with the acquire load of buffer in deque_steal(), so a
     thief that sees the new ring sees the copied slots. */
  store_release(&d->buffer, b);
  return b;
}

bool deque_push(deque *d, work_item *item) {
  /* relaxed: only the owner writes bottom. */
  int64_t b = load_relaxed(&d->bottom);
  /* acquire: pairs with the CAS on top in deque_steal(), so the slot a thief
     has vacated is not overwritten before the thief has read it. */
  int64_t t = load_acquire(&d->top);
  /* relaxed: only the owner writes buffer. */
  deque_buffer *buf = load_relaxed(&d->buffer);
  if (b - t > buf->mask) {
    buf = deque_grow(d, buf, t, b);
    if (!buf) return false;
  }
  buffer_put(buf, b, item);
  /* release fence + relaxed store: pairs with the acquire load of bottom in
     deque_steal(); publishes the slot written above (invariant 3). */
  fence_release_then_store(&d->bottom, b + 1);
  return true;
}

work_item *deque_pop(deque *d) {
  /* relaxed: only the owner writes bottom. */
  int64_t b = load_relaxed(&d->bottom) - 1;
  /* relaxed: only the owner writes buffer. */
  deque_buffer *buf = load_relaxed(&d->buffer);
  /* relaxed store + seq_cst fence, then top: the owner's half of the Dekker
     pattern with the fence in deque_steal() (invariant 4). */
  store_then_fence_seq_cst(&d->bottom, b);
  int64_t t = load_relaxed(&d->top);
  if (t > b) {
    /* Empty: restore bottom (relaxed: owner-only; thieves that read the
       transient value saw an empty deque, which it was). */
    store_relaxed(&d->bottom, b + 1);
    return NULL;
  }
  work_item *item = buffer_get(buf, b);
  if (t == b) {
    /* The last item: race the thieves for it through top.
       seq_cst CAS: pairs with the CAS on top in deque_steal(); exactly one
       of them wins index t (invariant 1). */
    if (!cas_seq_cst(&d->top, &t, t + 1)) item = NULL;
    /* relaxed: owner-only; the deque is empty either way. */
    store_relaxed(&d->bottom, b + 1);
  }
  return item;
}

steal_status deque_steal(deque *d, work_item **out) {
  *out = NULL;
  /* acquire: pairs with the CAS on top by other thieves and the owner, so a
     slot read below is not one that another thread has already taken. */
  int64_t t = load_acquire(&d->top);
  /* seq_cst fence, then bottom: the thief's half of the Dekker pattern with
     the fence in deque_pop() (invariant 4). acquire: pairs with the release
     fence + store of bottom in deque_push(), so the slot is visible. */
  int64_t b = fence_seq_cst_then_load_acquire(&d->bottom);
  if (t >= b) return STEAL_EMPTY;
  /* acquire: pairs with the release store of buffer in deque_grow(). */
  deque_buffer *buf = load_acquire(&d->buffer);
  work_item *item = buffer_get(buf, t);
  /* seq_cst CAS: pairs with the owner's CAS in deque_pop() and other
     thieves' CAS; the winner alone owns index t (invariant 1). */
  if (!cas_seq_cst(&d->top, &t, t + 1)) return STEAL_LOST_RACE;
  *out = item;
  return STEAL_OK;
}

int64_t deque_size(deque *d) {
  /* relaxed: an estimate for idle checks; callers that must not miss work
     order these loads after their own seq_cst fence (see park.c). */
  int64_t b = load_relaxed(&d->bottom);
  int64_t t = load_relaxed(&d->top);
  return b > t ? b - t : 0;
}

bool deque_nonempty_seq_cst(deque *d) {
  /* seq_cst: pairs with the fence in park_notify() after a push (Dekker on
     bottom / sleepers, park.c). */
  int64_t b = load_seq_cst(&d->bottom);
  int64_t t = load_seq_cst(&d->top);
  return b > t;
}

work_item *deque_peek_bottom(deque *d) {
  /* relaxed: owner-only index; top may move concurrently, but a stale view
     only makes the caller pop, which settles any race with thieves. */
  int64_t b = load_relaxed(&d->bottom);
  int64_t t = load_acquire(&d->top); /* acquire: pairs with the CAS on top in deque_steal() */
  if (b <= t) return NULL;
  return buffer_get(load_relaxed(&d->buffer), b - 1);
}
