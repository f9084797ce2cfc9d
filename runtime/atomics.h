/* Ordering-named wrappers over <stdatomic.h>.
 *
 * The ordering is part of every name (load_acquire, store_release,
 * cas_acq_rel, ...), so it is visible and greppable at each call site; the
 * comment beside each call names the access it pairs with.
 *
 * Fences. ThreadSanitizer does not model atomic_thread_fence (and GCC 12
 * warns when it meets one under -fsanitize=thread). A fence only matters
 * together with the atomic access next to it, so every fence here is a
 * wrapper that takes that access: fence_seq_cst_then_load() and friends.
 * In ordinary builds they are the fence plus a relaxed access, exactly as
 * the papers write them; in TSan builds they become one access TSan
 * understands, chosen so that the protocol still holds in the C11 model:
 *   - fence_seq_cst_then_load(p): a seq_cst read-modify-write of *p that
 *     adds 0. A plain seq_cst load would not do: after a release store
 *     (park_notify(), join_worker_idle()), "release store; seq_cst load"
 *     lets both sides of the Dekker pattern miss each other, and on x86 the
 *     load may pass the store. The other side of each such pattern is a
 *     seq_cst read-modify-write of the same *p (park_prepare()'s and
 *     event_prepare()'s increments), so the two RMWs are ordered in *p's
 *     modification order: either ours reads the increment, or the
 *     increment reads ours and acquires what we stored before it.
 *   - the deque's (Chase-Lev's pop and steal): the owner's store of split
 *     and its load of top after the fence (load_after_fence_seq_cst()),
 *     and the thief's load of split, all become seq_cst, so all three are
 *     in the single total order, which agrees with the thief's acquire of
 *     top from the CAS it read; a thief that missed the owner's split then
 *     comes before it, and the owner's load of top sees that CAS. */
#ifndef SPOOL_ATOMICS_H
#define SPOOL_ATOMICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_THREAD__)
#define SPOOL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SPOOL_TSAN 1
#endif
#endif

#define SPOOL_CACHE_LINE 64

/* Plain loads and stores with the ordering in the name. They are macros so
   that they work on every _Atomic type. */
#define load_relaxed(p)     atomic_load_explicit((p), memory_order_relaxed)
#define load_acquire(p)     atomic_load_explicit((p), memory_order_acquire)
#define load_seq_cst(p)     atomic_load_explicit((p), memory_order_seq_cst)
#define store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define store_seq_cst(p, v) atomic_store_explicit((p), (v), memory_order_seq_cst)

#define fetch_add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define fetch_add_release(p, v) atomic_fetch_add_explicit((p), (v), memory_order_release)
#define fetch_add_acq_rel(p, v) atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define fetch_add_seq_cst(p, v) atomic_fetch_add_explicit((p), (v), memory_order_seq_cst)
#define fetch_sub_relaxed(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define fetch_sub_release(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_release)
#define fetch_sub_acq_rel(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_acq_rel)
#define fetch_sub_seq_cst(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_seq_cst)
#define exchange_acq_rel(p, v)  atomic_exchange_explicit((p), (v), memory_order_acq_rel)

/* Strong compare-and-swap; on failure *expected receives the current value. */
#define cas_acq_rel(p, expected, desired)                                                          \
  atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_acq_rel,        \
                                          memory_order_acquire)
#define cas_seq_cst(p, expected, desired)                                                          \
  atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_seq_cst,        \
                                          memory_order_relaxed)

/* A relaxed increment of a counter that only its owner thread writes: no
   read-modify-write instruction, and readers on other threads see a value
   that is never torn. */
#define owner_add_relaxed(p, v) store_relaxed((p), load_relaxed(p) + (v))

/* ---- Fences, written together with the access they order ---------------- */

/* seq_cst fence, then a relaxed load of *p (the "store; fence; load" of
   Dekker-style protocols: sleep and wake, the joiner's wake). *p must be
   an integer. Under TSan: a seq_cst fetch-add of 0 (file comment). */
#ifdef SPOOL_TSAN
#define fence_seq_cst_then_load(p) atomic_fetch_add_explicit((p), 0, memory_order_seq_cst)
#else
#define fence_seq_cst_then_load(p)                                                                 \
  (atomic_thread_fence(memory_order_seq_cst), atomic_load_explicit((p), memory_order_relaxed))
#endif

/* seq_cst fence, then an acquire load of *p (Chase-Lev's steal). Under
   TSan: a seq_cst load, which is also an acquire. */
#ifdef SPOOL_TSAN
#define fence_seq_cst_then_load_acquire(p) atomic_load_explicit((p), memory_order_seq_cst)
#else
#define fence_seq_cst_then_load_acquire(p)                                                         \
  (atomic_thread_fence(memory_order_seq_cst), atomic_load_explicit((p), memory_order_acquire))
#endif

/* A relaxed store of *p followed by a seq_cst fence (the first half of the
   same pattern). Under TSan: a seq_cst store. */
#ifdef SPOOL_TSAN
#define store_then_fence_seq_cst(p, v) atomic_store_explicit((p), (v), memory_order_seq_cst)
#else
#define store_then_fence_seq_cst(p, v)                                                             \
  (atomic_store_explicit((p), (v), memory_order_relaxed), atomic_thread_fence(memory_order_seq_cst))
#endif

/* A release fence followed by a relaxed store of *p (Chase-Lev's push).
   Under TSan: a release store, which orders the same earlier accesses
   before the store. */
#ifdef SPOOL_TSAN
#define fence_release_then_store(p, v) atomic_store_explicit((p), (v), memory_order_release)
#else
#define fence_release_then_store(p, v)                                                             \
  (atomic_thread_fence(memory_order_release), atomic_store_explicit((p), (v), memory_order_relaxed))
#endif

/* The load that follows store_then_fence_seq_cst() (the second half of the
   owner's side): relaxed, ordered by the fence; under TSan, where the
   store is a seq_cst store, a seq_cst load (file comment). */
#ifdef SPOOL_TSAN
#define load_after_fence_seq_cst(p) atomic_load_explicit((p), memory_order_seq_cst)
#else
#define load_after_fence_seq_cst(p) atomic_load_explicit((p), memory_order_relaxed)
#endif

/* Relaxed load followed by an acquire fence. Under TSan: an acquire load. */
#ifdef SPOOL_TSAN
#define load_then_fence_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#else
#define load_then_fence_acquire(p)                                                                 \
  ({                                                                                               \
    __typeof__(atomic_load_explicit((p), memory_order_relaxed)) v_ =                               \
        atomic_load_explicit((p), memory_order_relaxed);                                           \
    atomic_thread_fence(memory_order_acquire);                                                     \
    v_;                                                                                            \
  })
#endif

/* A pause for spin loops. */
static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

#endif /* SPOOL_ATOMICS_H */
