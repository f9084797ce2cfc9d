/* Fiber stacks: mapping, the per-worker caches, the shared pool, the cap.
 * See stack.h for the layout and the reasons. */
#include "stack.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fiber.h"

/* The struct fiber takes the top of the mapping, rounded so the stack below
   it keeps 64-byte (and so the ABI's 16-byte) alignment. */
#define FIBER_HEADER_SIZE ((sizeof(fiber) + 63) & ~(size_t)63)

static size_t page_size(void) {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? (size_t)p : 4096; /* sysconf cannot fail for this name on Linux */
}

int fiber_source_init(fiber_source *s, size_t stack_size, unsigned max_fibers) {
  size_t page = page_size();
  size_t guard = (FIBER_GUARD_MIN + page - 1) & ~(page - 1); /* whole pages */
  if (max_fibers == 0 || stack_size > SIZE_MAX / 2 - guard) {
    errno = EINVAL;
    return -1;
  }
  if (stack_size < FIBER_STACK_MIN) stack_size = FIBER_STACK_MIN;
  stack_size = (stack_size + page - 1) & ~(page - 1);
  s->stack_size = stack_size;
  s->guard_size = guard;
  s->map_size = guard + stack_size;
  s->max_fibers = max_fibers;
  atomic_init(&s->live, 0);
  int err = pthread_mutex_init(&s->lock, NULL);
  if (err) {
    errno = err;
    return -1;
  }
  s->pool = NULL;
  s->pooled = 0;
  atomic_init(&s->maps, 0);
  atomic_init(&s->unmaps, 0);
  return 0;
}

static void stack_unmap(fiber_source *s, fiber *f) {
  fiber_forget(f); /* before the memory (and f itself) goes */
  munmap(f->guard_lo, f->map_size);
  /* relaxed: a statistic; nothing is published through it */
  atomic_fetch_add_explicit(&s->unmaps, 1, memory_order_relaxed);
}

static void stack_unmap_list(fiber_source *s, fiber *list) {
  while (list) {
    fiber *next = list->next; /* read before the unmap takes list away */
    stack_unmap(s, list);
    list = next;
  }
}

void fiber_source_destroy(fiber_source *s) {
  /* relaxed: the source is quiescent here (every worker has been joined) */
  assert(atomic_load_explicit(&s->live, memory_order_relaxed) == 0);
  stack_unmap_list(s, s->pool);
  s->pool = NULL;
  s->pooled = 0;
  pthread_mutex_destroy(&s->lock);
}

void fiber_cache_init(fiber_cache *c, fiber_source *s) {
  c->source = s;
  c->head = NULL;
  c->count = 0;
}

/* Moves the stacks of `list` into the pool, as far as its bound allows;
   returns what did not fit, for the caller to unmap outside the lock
   (munmap is slow, and takes the process's mmap lock). */
static fiber *pool_give(fiber_source *s, fiber *list) {
  pthread_mutex_lock(&s->lock);
  while (list && s->pooled < FIBER_POOL_BOUND) {
    fiber *next = list->next;
    list->next = s->pool;
    s->pool = list;
    s->pooled++;
    list = next;
  }
  pthread_mutex_unlock(&s->lock);
  return list;
}

void fiber_cache_destroy(fiber_cache *c) {
  stack_unmap_list(c->source, pool_give(c->source, c->head));
  c->head = NULL;
  c->count = 0;
}

/* Live count +1 unless at the cap. A CAS loop rather than add-then-undo,
   so a take that is refused never makes a concurrent take fail too. */
static bool live_try_add(fiber_source *s) {
  /* relaxed throughout: the count guards a number, not data; the stacks
     themselves are handed over under the pool's lock or within a thread. */
  unsigned n = atomic_load_explicit(&s->live, memory_order_relaxed);
  do {
    if (n >= s->max_fibers) return false;
  } while (!atomic_compare_exchange_weak_explicit(&s->live, &n, n + 1, memory_order_relaxed,
                                                  memory_order_relaxed));
  return true;
}

static void live_sub(fiber_source *s) {
  /* relaxed: see live_try_add() */
  unsigned before = atomic_fetch_sub_explicit(&s->live, 1, memory_order_relaxed);
  assert(before > 0); /* a put without a take */
  (void)before;
}

/* Refills an empty cache with up to a batch from the pool. */
static void cache_refill(fiber_cache *c) {
  fiber_source *s = c->source;
  pthread_mutex_lock(&s->lock);
  while (s->pool && c->count < FIBER_CACHE_BATCH) {
    fiber *f = s->pool;
    s->pool = f->next;
    s->pooled--;
    f->next = c->head;
    c->head = f;
    c->count++;
  }
  pthread_mutex_unlock(&s->lock);
}

static fiber *stack_map(fiber_source *s) {
  /* MAP_NORESERVE: a 1 MiB stack is mostly never touched, so do not charge
     it all against overcommit. MAP_STACK: Linux 6.7 and later keep
     transparent huge pages off such mappings (a 2 MiB page per touched
     stack would defeat committing stacks only as touched). Mapped
     inaccessible, then the stack part made writable: the guard is never
     writable, so never charged as committed memory (with
     vm.overcommit_memory=2, which ignores MAP_NORESERVE, a writable
     mapping turned PROT_NONE afterwards stays charged). */
  char *base = mmap(NULL, s->map_size, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) {
    errno = ENOMEM;
    return NULL;
  }
  if (mprotect(base + s->guard_size, s->map_size - s->guard_size, PROT_READ | PROT_WRITE) != 0) {
    munmap(base, s->map_size);
    errno = ENOMEM; /* mprotect fails only when out of mappings or memory */
    return NULL;
  }
  /* relaxed: a statistic */
  atomic_fetch_add_explicit(&s->maps, 1, memory_order_relaxed);
  /* The struct at the top; the rest of it is zero, as mmap gave it. */
  fiber *f = (fiber *)(base + s->map_size - FIBER_HEADER_SIZE);
  f->stack_lo = base + s->guard_size;
  f->stack_hi = (char *)f;
  f->guard_lo = base;
  f->guard_size = s->guard_size;
  f->map_size = s->map_size;
  f->stack_size = s->stack_size;
  return f;
}

/* Live count +1 even past the cap (fiber_cache_take_beyond_cap()). */
static void live_add(fiber_source *s) {
  /* relaxed: see live_try_add() */
  atomic_fetch_add_explicit(&s->live, 1, memory_order_relaxed);
}

static fiber *cache_take(fiber_cache *c, bool capped) {
  fiber_source *s = c->source;
  if (!capped) {
    live_add(s);
  } else if (!live_try_add(s)) {
    errno = EAGAIN;
    return NULL;
  }
  if (!c->head) cache_refill(c);
  fiber *f = c->head;
  if (f) {
    c->head = f->next;
    c->count--;
  } else {
    f = stack_map(s);
    if (!f) {
      live_sub(s);
      errno = ENOMEM; /* live_sub() leaves errno alone, but say it here */
      return NULL;
    }
  }
  f->next = NULL;
  return f;
}

fiber *fiber_cache_take(fiber_cache *c) {
  return cache_take(c, true);
}

fiber *fiber_cache_take_beyond_cap(fiber_cache *c) {
  return cache_take(c, false);
}

void fiber_cache_put(fiber_cache *c, fiber *f) {
  fiber_source *s = c->source;
  live_sub(s);
  if (c->count >= FIBER_CACHE_BOUND) {
    /* Spill the batch at the head: cut it off, hand it to the pool, and
       unmap what the pool has no room for. */
    fiber *batch = c->head, *last = c->head;
    for (unsigned i = 1; i < FIBER_CACHE_BATCH; i++)
      last = last->next;
    c->head = last->next;
    last->next = NULL;
    c->count -= FIBER_CACHE_BATCH;
    stack_unmap_list(s, pool_give(s, batch));
  }
  f->next = c->head;
  c->head = f;
  c->count++;
}

void fiber_source_get_counts(fiber_source *s, fiber_source_counts *out) {
  /* relaxed: statistics, a snapshot that may be stale */
  out->maps = atomic_load_explicit(&s->maps, memory_order_relaxed);
  out->unmaps = atomic_load_explicit(&s->unmaps, memory_order_relaxed);
  out->live = atomic_load_explicit(&s->live, memory_order_relaxed);
  pthread_mutex_lock(&s->lock);
  out->pooled = s->pooled;
  pthread_mutex_unlock(&s->lock);
}
