/* Fiber stacks: mmap'd with a guard below, pooled, and counted.
 *
 * Each stack is one private anonymous mapping:
 *
 *     low                                                         high
 *     | guard (PROT_NONE, >= 64 KiB) | stack, grows down <-- | struct fiber |
 *
 * The struct fiber that describes the stack lives in its top bytes, so a
 * pooled stack needs no allocation besides its mapping, and everything
 * fiber.c keeps per stack (sanitizer handles included) is pooled with it.
 *
 * A fresh mmap plus its first page faults costs microseconds, a pooled
 * stack a few nanoseconds (DESIGN.md, "Fibers"). So released stacks go to a
 * per-worker fiber_cache (one thread only, no locks), which spills to and
 * refills from the shared, bounded pool of its fiber_source (a mutex, taken
 * once per batch); what the pool cannot hold is unmapped.
 *
 * The source also caps the number of live fibers (taken and not yet put
 * back) at max_fibers: Linux allows about 65,000 mappings per process and
 * each stack costs two (the guard and the stack). At the cap a take fails,
 * and the caller waits on its own stack instead. */
#ifndef SPOOL_STACK_H
#define SPOOL_STACK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct fiber;

/* The smallest stack; smaller requests are raised to it. */
#define FIBER_STACK_MIN ((size_t)16 << 10)
/* The guard below each stack: at least this, in whole pages. One page let
   a function whose frame was larger than the stack left plus 4 KiB move
   the stack pointer past the guard into the stack mapped below it (another
   fiber's, with its header at the top) and write there without a fault
   (found by review; compilers do not probe large frames unless built with
   -fstack-clash-protection). A PROT_NONE guard costs address space only,
   and stays one mapping whatever its size. */
#define FIBER_GUARD_MIN ((size_t)64 << 10)
/* Stacks a per-worker cache keeps. A worker's churn is one stack per
   suspension (taken) and one per resumption (put back), so a handful covers
   it; chosen, not tuned. */
#define FIBER_CACHE_BOUND 8u
/* Stacks moved between a cache and the pool at once: half the cache, so a
   cache that just spilled (or refilled) can absorb as many puts (takes)
   again before it touches the lock. */
#define FIBER_CACHE_BATCH (FIBER_CACHE_BOUND / 2)
/* Stacks the shared pool keeps (besides the caches'): absorbs imbalance
   between workers, one that parks many tasks and one that resumes them.
   Bounded because a pooled stack keeps its touched pages committed; chosen,
   not tuned. */
#define FIBER_POOL_BOUND 64u

/* The stacks of one executor: their size, the cap, and the shared pool. */
typedef struct fiber_source {
  /* Set by fiber_source_init(), read-only afterwards. */
  size_t stack_size; /* bytes per stack, page-rounded (the struct fiber included) */
  size_t guard_size; /* FIBER_GUARD_MIN in whole pages */
  size_t map_size;   /* guard_size + stack_size */
  unsigned max_fibers;
  /* Fibers taken and not yet put back. Read-modify-written by every thread
     that takes or puts a stack; on its own cache line for that reason. */
  _Alignas(64) _Atomic(unsigned) live;
  /* The shared pool: a list linked through fiber.next. Written and read
     under lock only. */
  _Alignas(64) pthread_mutex_t lock;
  struct fiber *pool;
  unsigned pooled;
  /* mmaps and munmaps so far (tests check that pooling bounds them).
     Incremented by any thread, read by tests; relaxed, plain counters. */
  _Atomic(uint64_t) maps;
  _Atomic(uint64_t) unmaps;
} fiber_source;

/* A per-worker cache in front of a source. Used by one thread at a time:
   the owner worker (or whichever thread holds it; no locks). */
typedef struct fiber_cache {
  fiber_source *source;
  struct fiber *head; /* linked through fiber.next, most recent first */
  unsigned count;
} fiber_cache;

/* Counters of a source, for tests and statistics. */
typedef struct fiber_source_counts {
  uint64_t maps;   /* stacks mapped so far */
  uint64_t unmaps; /* stacks unmapped so far */
  unsigned live;   /* taken and not put back */
  unsigned pooled; /* in the shared pool (not counting the caches) */
} fiber_source_counts;

/* Sets up a source of stacks of stack_size bytes (rounded up to pages, at
   least FIBER_STACK_MIN), of which at most max_fibers may be live at once.
   Maps nothing yet. Returns 0, or -1 with errno EINVAL (max_fibers 0, a
   size too large to round) or what pthread_mutex_init() reported. */
int fiber_source_init(fiber_source *s, size_t stack_size, unsigned max_fibers);

/* Unmaps every stack of the pool. Every cache of the source must have been
   destroyed and every fiber put back first. */
void fiber_source_destroy(fiber_source *s);

/* An empty cache in front of s. */
void fiber_cache_init(fiber_cache *c, fiber_source *s);

/* Hands the cached stacks to the pool (up to its bound) and unmaps the
   rest. Any thread may call it, once no thread uses the cache. */
void fiber_cache_destroy(fiber_cache *c);

/* A stack (its struct fiber) from the cache, else from the pool, else
   freshly mapped, counted live. NULL with errno EAGAIN at the cap, or
   ENOMEM when mapping fails. The fields stack.c owns are set; the ones
   fiber.c owns keep what they held when the stack was last put back (zero
   for a new mapping). Use fiber_acquire(), which prepares the fiber. */
struct fiber *fiber_cache_take(fiber_cache *c);

/* The same without the cap (NULL only with ENOMEM): for a nested wait that
   would otherwise overflow its stack (suspend.c, "Depth at the cap"). The
   live count may then exceed max_fibers; takes with the cap are refused
   until it is back below. */
struct fiber *fiber_cache_take_beyond_cap(fiber_cache *c);

/* Puts a stack back (no longer live): into the cache, spilling a batch to
   the pool when the cache is full. The fiber must not be running. */
void fiber_cache_put(fiber_cache *c, struct fiber *f);

/* A snapshot of the counters (takes the pool's lock for `pooled`). */
void fiber_source_get_counts(fiber_source *s, fiber_source_counts *out);

#endif /* SPOOL_STACK_H */
