/* Fibers that move between threads.
 *
 * 1. A pool fiber suspended on thread A is resumed on thread B; after the
 *    resume, the switch returns B's transfer value and a thread-local read
 *    (through a function the optimiser cannot see into) says B. It then
 *    abandons itself on B, and B releases it into B's cache.
 * 2. A thread's own fiber (its pthread stack) is parked by A, runs for a
 *    while on B, and comes back to A before A exits (fiber.h, rule 4).
 *
 * Hand-offs go through one atomic slot per direction (release store,
 * acquire load), published only by code running after the switch away
 * from the fiber handed off (fiber.c's hand-off invariant). Built with
 * both GCC and Clang at -O2 (the migration rule is about what they cache). */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "check.h"
#include "fiber.h"

#define ROUNDS 500

static fiber_source source;

/* Per-thread state, passed as the transfer value on every resume. */
typedef struct worker {
  int id;
  fiber home;
  fiber_cache cache;
} worker;

static worker workers[2];

/* The thread's id through a thread-local read by a function that is not
   inlined and is called through a volatile pointer: so the read happens
   after the switch, on the thread that is running then. */
static _Thread_local int thread_id = -1;
static __attribute__((noinline)) int read_thread_id(void) {
  return thread_id;
}
static int (*volatile thread_id_reader)(void) = read_thread_id;

/* Hand-off slots: to_b carries fibers from A to B, to_a back. */
static _Atomic(fiber *) to_b, to_a;

static void hand_off(_Atomic(fiber *) *slot, fiber *f) {
  fiber *expected = NULL;
  /* release: pairs with the acquire exchange in take_from(); orders the
     completed switch away from f (its saved context) before the slot */
  while (!atomic_compare_exchange_weak_explicit(slot, &expected, f, memory_order_release,
                                                memory_order_relaxed)) {
    expected = NULL;
    sched_yield();
  }
}

static fiber *take_from(_Atomic(fiber *) *slot) {
  fiber *f;
  /* acquire: pairs with the release CAS in hand_off() */
  while (!(f = atomic_exchange_explicit(slot, NULL, memory_order_acquire)))
    sched_yield();
  return f;
}

/* ---- 1. A pool fiber moves from A to B ------------------------------------ */

static fiber *traveller; /* written by A before it starts the traveller */

static void traveller_entry(void *transfer) {
  fiber *self = traveller; /* read at once, on A, before A can write it again */
  worker *w = transfer;
  CHECK(w == &workers[0] && thread_id_reader() == 0);
  /* Suspend on A, handing ourselves to A's home fiber. */
  w = fiber_switch(self, &w->home, self);
  /* Resumed on B: only the transfer value and fresh reads tell. */
  CHECK(w == &workers[1]);
  CHECK(thread_id_reader() == 1);
  fiber_switch_abandon(self, &w->home, self);
}

/* ---- 2. Thread A's own fiber visits B ------------------------------------- */

static fiber *loop_fiber; /* written by A before it starts the loop fiber */

/* A's loop fiber: hands A's parked home fiber to B, waits for it to come
   back, and resumes it, abandoning itself (A's home releases it). */
static void loop_entry(void *transfer) {
  fiber *self = loop_fiber;
  fiber *home_a = transfer;
  hand_off(&to_b, home_a); /* we run after the switch away from home_a */
  fiber *back = take_from(&to_a);
  CHECK(back == home_a);
  fiber_switch_abandon(self, back, self);
}

static void *thread_a(void *unused) {
  (void)unused;
  worker *w = &workers[0];
  thread_id = 0;
  fiber_init_thread(&w->home);
  fiber_cache_init(&w->cache, &source);
  for (int i = 0; i < ROUNDS; i++) {
    /* 1 */
    traveller = fiber_acquire(&w->cache, traveller_entry);
    if (!CHECK(traveller != NULL)) break;
    fiber *suspended = fiber_switch(&w->home, traveller, w);
    CHECK(suspended == traveller);
    hand_off(&to_b, suspended);

    /* 2 */
    loop_fiber = fiber_acquire(&w->cache, loop_entry);
    if (!CHECK(loop_fiber != NULL)) break;
    worker *there = fiber_switch(&w->home, loop_fiber, &w->home);
    /* This thread's own stack, now running on B. */
    CHECK(there == &workers[1]);
    CHECK(thread_id_reader() == 1);
    fiber *loop = fiber_switch(&w->home, &there->home, &w->home);
    /* Home again, resumed by the loop fiber, which abandoned itself. */
    CHECK(thread_id_reader() == 0);
    CHECK(loop == loop_fiber);
    fiber_release(&w->cache, loop);
  }
  fiber_cache_destroy(&w->cache);
  fiber_exit_thread(&w->home);
  return NULL;
}

static void *thread_b(void *unused) {
  (void)unused;
  worker *w = &workers[1];
  thread_id = 1;
  fiber_init_thread(&w->home);
  fiber_cache_init(&w->cache, &source);
  for (int i = 0; i < ROUNDS; i++) {
    /* 1: resume the traveller here; it abandons itself to us, and we
       release it into our cache (it came from A's). */
    fiber *t = take_from(&to_b);
    fiber *done = fiber_switch(&w->home, t, w);
    CHECK(done == t);
    fiber_release(&w->cache, done);

    /* 2: run A's home fiber here until it switches back, then return it. */
    fiber *home_a = take_from(&to_b);
    fiber *back = fiber_switch(&w->home, home_a, w);
    CHECK(back == home_a);
    hand_off(&to_a, back);
  }
  fiber_cache_destroy(&w->cache);
  fiber_exit_thread(&w->home);
  return NULL;
}

int main(void) {
#ifdef SPOOL_FIBER_UCONTEXT
  printf("switch: ucontext\n");
#endif
  if (fiber_source_init(&source, 64 << 10, 64) != 0) return 1;
  pthread_t a, b;
  if (!CHECK(pthread_create(&a, NULL, thread_a, NULL) == 0)) return check_report();
  if (!CHECK(pthread_create(&b, NULL, thread_b, NULL) == 0)) return check_report();
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  fiber_source_counts n;
  fiber_source_get_counts(&source, &n);
  CHECK(n.live == 0);
  fiber_source_destroy(&source);
  return check_report();
}
