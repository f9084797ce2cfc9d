/* The fiber API on one thread: fiber_acquire, fiber_switch,
 * fiber_switch_abandon, fiber_release.
 *
 * Checks: ping-pong with transfer values (and a fresh fiber's first
 * transfer), and the overflow handler's note of the running fiber; the
 * callee-saved registers and the FP control state kept per fiber; fibers
 * abandoned at depth and their stacks reused (the stale redzones under
 * ASan, the shadow stacks under TSan); many fibers in a ring. */
#include <fenv.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "fiber.h"
#include "overflow.h"

#define STACK_SIZE ((size_t)64 << 10)

static fiber main_fiber;
static fiber_source source;
static fiber_cache cache;

/* ---- Ping-pong ------------------------------------------------------------ */

static fiber *echo;
static void *echo_first;
static unsigned echo_wrong_note;

/* The overflow handler's note of the running fiber, read afresh. */
static const fiber *running_note(void) {
  return atomic_load_explicit(overflow_running_slot(), memory_order_relaxed);
}

static void echo_entry(void *transfer) {
  echo_first = transfer;
  for (;;) {
    if (running_note() != echo) echo_wrong_note++;
    transfer = fiber_switch(echo, &main_fiber, (void *)((uintptr_t)transfer + 1));
  }
}

static void test_ping_pong(void) {
  echo = fiber_acquire(&cache, echo_entry);
  if (!CHECK(echo != NULL)) return;
  void *back = fiber_switch(&main_fiber, echo, (void *)77);
  CHECK(echo_first == (void *)77);
  CHECK(back == (void *)78);
  bool all = true;
  unsigned wrong_note = 0;
  for (uintptr_t i = 0; i < 100000; i++) {
    back = fiber_switch(&main_fiber, echo, (void *)(i * 3));
    if (back != (void *)(i * 3 + 1)) all = false;
    if (running_note() != &main_fiber) wrong_note++;
  }
  CHECK(all);
  /* every switch noted the fiber it resumed, on both sides */
  CHECK(wrong_note == 0);
  CHECK(echo_wrong_note == 0);
  /* echo is suspended inside fiber_switch; it is never resumed, and
     releasing it is allowed (it is not running). */
  fiber_release(&cache, echo);
}

/* ---- Callee-saved registers ----------------------------------------------- */

#ifdef TEST_CALLEE_SAVED_PROBE
uint64_t callee_saved_probe(void (*fn)(void *), void *arg, uint64_t seed);

static fiber *regs;
static uint64_t regs_mask;

static void switch_to_regs(void *arg) {
  fiber_switch(&main_fiber, regs, arg);
}
static void switch_to_main(void *arg) {
  fiber_switch(regs, &main_fiber, arg);
}
static void regs_entry(void *transfer) {
  (void)transfer;
  for (;;)
    regs_mask |= callee_saved_probe(switch_to_main, NULL, UINT64_C(0x2222222222222200));
}

static void test_callee_saved(void) {
  regs = fiber_acquire(&cache, regs_entry);
  if (!CHECK(regs != NULL)) return;
  uint64_t mask = 0;
  for (int i = 0; i < 1000; i++)
    mask |= callee_saved_probe(switch_to_regs, NULL, UINT64_C(0x1111111111111100));
  CHECK(mask == 0);
  CHECK(regs_mask == 0);
  fiber_release(&cache, regs);
}
#endif

/* ---- FP control state ----------------------------------------------------- */

static fiber *fp;
static int fp_seen[3];

static void fp_entry(void *transfer) {
  (void)transfer;
  fp_seen[0] = fegetround(); /* the acquirer's */
  fesetround(FE_DOWNWARD);
  fiber_switch(fp, &main_fiber, NULL);
  fp_seen[1] = fegetround(); /* still its own */
  for (;;)
    fiber_switch(fp, &main_fiber, NULL);
}

static void test_fp_control(void) {
  fp = fiber_acquire(&cache, fp_entry);
  if (!CHECK(fp != NULL)) return;
  fiber_switch(&main_fiber, fp, NULL);
  CHECK(fp_seen[0] == FE_TONEAREST);
  CHECK(fegetround() == FE_TONEAREST);
  fesetround(FE_UPWARD);
  fiber_switch(&main_fiber, fp, NULL);
  CHECK(fp_seen[1] == FE_DOWNWARD);
  CHECK(fegetround() == FE_UPWARD);
  fiber_release(&cache, fp);
  /* A fresh fiber gets the acquirer's state. */
  fp = fiber_acquire(&cache, fp_entry);
  fesetround(FE_TONEAREST);
  if (!CHECK(fp != NULL)) return;
  fiber_switch(&main_fiber, fp, NULL);
  CHECK(fp_seen[0] == FE_UPWARD);
  CHECK(fegetround() == FE_TONEAREST);
  fiber_release(&cache, fp);
}

/* ---- Abandoned fibers and reused stacks ----------------------------------- */

/* Recurses `depth` frames, each with an array that ASan surrounds with
   redzones, then abandons the fiber from the deepest frame: those redzones
   stay poisoned, and under TSan the frames stay on the fiber's shadow
   stack. The next run on the same stack must not trip over either. */
static volatile unsigned dive_floor = 0; /* volatile: GCC would call dive() infinite */

static unsigned dive(fiber *self, unsigned depth) {
  volatile char frame[200];
  memset((char *)frame, (int)depth, sizeof frame);
  if (depth == dive_floor) fiber_switch_abandon(self, &main_fiber, self);
  if (depth > 1000) return 0; /* not reached */
  return dive(self, depth - 1) + frame[depth % sizeof frame];
}

static void diver_entry(void *transfer) {
  fiber *self = transfer;
  /* A big array at a different depth than dive()'s, so the new frames
     overlap the old redzones; every byte written and read. */
  volatile char big[8192];
  memset((char *)big, 1, sizeof big);
  unsigned sum = 0;
  for (size_t i = 0; i < sizeof big; i++)
    sum += big[i];
  if (sum != sizeof big) fiber_switch_abandon(self, &main_fiber, NULL);
  dive(self, 20);
}

static void test_abandon_and_reuse(void) {
  fiber_source_counts before, after;
  fiber_source_get_counts(&source, &before);
  fiber *first = NULL;
  unsigned returned_self = 0, same_stack = 0;
  enum { ROUNDS = 2000 };
  for (unsigned i = 0; i < ROUNDS; i++) {
    fiber *f = fiber_acquire(&cache, diver_entry);
    if (!CHECK(f != NULL)) return;
    if (!first) first = f;
    same_stack += f == first;
    /* The fiber passes itself back as it abandons; this side releases it. */
    void *back = fiber_switch(&main_fiber, f, f);
    returned_self += back == f;
    fiber_release(&cache, f);
  }
  fiber_source_get_counts(&source, &after);
  CHECK(returned_self == ROUNDS);
  CHECK(same_stack == ROUNDS); /* the cache hands the same stack back */
  CHECK(after.maps == before.maps);
}

/* ---- A ring of fibers ----------------------------------------------------- */

#define RING      16
#define RING_LAPS 200

static fiber *ring[RING];
static unsigned ring_visits[RING];

static void ring_entry(void *transfer) {
  /* The first transfer names the member; later ones carry the token. */
  unsigned me = (unsigned)(uintptr_t)transfer;
  uintptr_t token = (uintptr_t)fiber_switch(ring[me], &main_fiber, NULL);
  for (;;) {
    ring_visits[me]++;
    fiber *next = ring[(me + 1) % RING];
    if (me + 1 == RING && token + 1 == (uintptr_t)RING * RING_LAPS) next = &main_fiber;
    token = (uintptr_t)fiber_switch(ring[me], next, (void *)(token + 1));
  }
}

static void test_ring(void) {
  for (unsigned i = 0; i < RING; i++) {
    ring[i] = fiber_acquire(&cache, ring_entry);
    if (!CHECK(ring[i] != NULL)) return;
    fiber_switch(&main_fiber, ring[i], (void *)(uintptr_t)i);
  }
  void *token = fiber_switch(&main_fiber, ring[0], (void *)0);
  CHECK(token == (void *)((uintptr_t)RING * RING_LAPS));
  bool even = true;
  for (unsigned i = 0; i < RING; i++)
    even = even && ring_visits[i] == RING_LAPS;
  CHECK(even);
  for (unsigned i = 0; i < RING; i++)
    fiber_release(&cache, ring[i]);
}

int main(void) {
#ifdef SPOOL_FIBER_UCONTEXT
  printf("switch: ucontext\n");
#endif
  fiber_init_thread(&main_fiber);
  if (fiber_source_init(&source, STACK_SIZE, 64) != 0) {
    perror("fiber_source_init");
    return 1;
  }
  fiber_cache_init(&cache, &source);
  test_ping_pong();
#ifdef TEST_CALLEE_SAVED_PROBE
  test_callee_saved();
#endif
  test_fp_control();
  test_abandon_and_reuse();
  test_ring();
  fiber_source_counts counts;
  fiber_source_get_counts(&source, &counts);
  CHECK(counts.live == 0);
  fiber_cache_destroy(&cache);
  fiber_source_destroy(&source);
  fiber_exit_thread(&main_fiber);
  return check_report();
}
