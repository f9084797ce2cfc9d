/* The arch layer's switch on its own: no fiber.c, no pool, no library.
 *
 * Built with one of runtime/arch/switch_{x86_64,aarch64}.S (or
 * switch_ucontext.c) and tests/fiber/callee_saved_<arch>.S, so that
 * aarch64_check.sh can cross-compile it with nothing else and run it under
 * qemu-user; it runs natively in the meson suite too.
 *
 * Checks: transfer values in both directions, a fresh context's first
 * transfer, the running-fiber note each switch stores, the callee-saved
 * registers and the FP control state kept per context, a fresh context
 * inheriting its maker's FP control state, and a ring of contexts. */
#include <fenv.h>
#include <stdint.h>
#include <sys/mman.h>

#include "check.h"

typedef void (*fiber_arch_start)(void *transfer, void *arg);
void *fiber_arch_switch(void **save, void *to, void *transfer, void *running_slot,
                        const void *running);
void *fiber_arch_make(void *stack_lo, void *stack_hi, fiber_arch_start start, void *arg);
uint64_t callee_saved_probe(void (*fn)(void *), void *arg, uint64_t seed);

#define STACK_SIZE ((size_t)256 << 10)

static char *stack_new(void) {
  char *p = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
#ifdef TEST_VALGRIND
  /* so that memcheck takes a jump to it for a stack switch (the ids are
     never released: the test is short) */
  VALGRIND_STACK_REGISTER(p, p + STACK_SIZE - 1);
#endif
  return p;
}

static void *main_context;

/* The note the switch keeps (the library's is a thread-local; any slot
   will do here). Every switch below goes through this wrapper, which names
   the context being resumed as the running one; note_errors counts the
   times the resumed side did not find its own name there. */
static const void *volatile running_note;
static unsigned note_errors;

static void *switch_noted(void **save, void *to, void *transfer) {
  void *back = fiber_arch_switch(save, to, transfer, (void *)&running_note, to);
  /* Whoever resumed us passed the context we saved, which *save still holds. */
  if (running_note != *save) note_errors++;
  return back;
}

/* ---- Transfer values ---------------------------------------------------- */

static void *echo_context;
static void *echo_first;

static void echo_start(void *transfer, void *arg) {
  echo_first = arg == &echo_first ? transfer : NULL; /* arg must come through too */
  for (;;)
    transfer = switch_noted(&echo_context, main_context, (void *)((uintptr_t)transfer + 1));
}

static void test_transfer(void) {
  char *stack = stack_new();
  echo_context = fiber_arch_make(stack, stack + STACK_SIZE, echo_start, &echo_first);
  void *back = switch_noted(&main_context, echo_context, (void *)1000000);
  CHECK(echo_first == (void *)1000000);
  CHECK(back == (void *)1000001);
  bool all = true;
  for (uintptr_t i = 0; i < 1000; i++) {
    back = switch_noted(&main_context, echo_context, (void *)(i * 2));
    if (back != (void *)(i * 2 + 1)) all = false;
  }
  CHECK(all);
  munmap(stack, STACK_SIZE);
}

/* ---- Callee-saved registers --------------------------------------------- */

#define SEED_MAIN  UINT64_C(0x1111111111111100)
#define SEED_OTHER UINT64_C(0x2222222222222200)

static void *regs_context;
static uint64_t regs_other_mask;
static unsigned regs_other_rounds;

static void switch_to_regs(void *arg) {
  switch_noted(&main_context, regs_context, arg);
}
static void switch_to_main(void *arg) {
  switch_noted(&regs_context, main_context, arg);
}

static void regs_start(void *transfer, void *arg) {
  (void)transfer, (void)arg;
  for (;;) {
    regs_other_mask |= callee_saved_probe(switch_to_main, NULL, SEED_OTHER);
    regs_other_rounds++;
  }
}

static void test_callee_saved(void) {
  char *stack = stack_new();
  regs_context = fiber_arch_make(stack, stack + STACK_SIZE, regs_start, NULL);
  uint64_t mask = 0;
  for (int i = 0; i < 100; i++)
    mask |= callee_saved_probe(switch_to_regs, NULL, SEED_MAIN);
  CHECK(mask == 0);
  CHECK(regs_other_mask == 0);
  CHECK(regs_other_rounds == 99); /* the first switch started it, each later one ended a round */
  if (mask || regs_other_mask)
    fprintf(stderr, "register masks: main %#llx, other %#llx\n", (unsigned long long)mask,
            (unsigned long long)regs_other_mask);
  munmap(stack, STACK_SIZE);
}

/* ---- FP control state ----------------------------------------------------- */

/* The raw control bits (status flags masked out). */
static uint64_t fp_control(void) {
#if defined(__x86_64__)
  uint32_t mxcsr;
  uint16_t cw;
  __asm__ __volatile__("stmxcsr %0" : "=m"(mxcsr));
  __asm__ __volatile__("fnstcw %0" : "=m"(cw));
  return (uint64_t)(mxcsr & ~0x3fu) | (uint64_t)cw << 32; /* MXCSR bits 0-5 are flags */
#elif defined(__aarch64__)
  uint64_t fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  return fpcr;
#else
  return (uint64_t)fegetround();
#endif
}

/* Rounding up, plus flush-to-zero and (x87) 53-bit precision where there
   are such bits: every control word the switch keeps differs from the
   default. */
static void fp_control_set_unusual(void) {
  fesetround(FE_UPWARD);
#if defined(__x86_64__)
  uint32_t mxcsr;
  uint16_t cw;
  __asm__ __volatile__("stmxcsr %0" : "=m"(mxcsr));
  mxcsr |= 0x8000; /* FTZ */
  __asm__ __volatile__("ldmxcsr %0" : : "m"(mxcsr));
  __asm__ __volatile__("fnstcw %0" : "=m"(cw));
  cw = (uint16_t)((cw & ~0x0300u) | 0x0200u); /* precision control: double */
  __asm__ __volatile__("fldcw %0" : : "m"(cw));
#elif defined(__aarch64__)
  uint64_t fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  fpcr |= UINT64_C(1) << 24; /* FZ */
  __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
#endif
}

static void fp_control_restore(uint64_t saved) {
#if defined(__x86_64__)
  uint32_t mxcsr = (uint32_t)saved;
  uint16_t cw = (uint16_t)(saved >> 32);
  __asm__ __volatile__("ldmxcsr %0" : : "m"(mxcsr));
  __asm__ __volatile__("fldcw %0" : : "m"(cw));
#elif defined(__aarch64__)
  __asm__ __volatile__("msr fpcr, %0" : : "r"(saved));
#else
  fesetround((int)saved);
#endif
}

static void *fp_context;
static uint64_t fp_other_seen[3];
static int fp_other_round_seen[3];

static void fp_start(void *transfer, void *arg) {
  (void)transfer, (void)arg;
  fp_other_seen[0] = fp_control(); /* inherited from the maker */
  fp_control_set_unusual();
  fp_other_round_seen[0] = fegetround();
  switch_noted(&fp_context, main_context, NULL);
  fp_other_seen[1] = fp_control(); /* must still be the unusual one */
  fp_other_round_seen[1] = fegetround();
  switch_noted(&fp_context, main_context, NULL);
  for (;;)
    switch_noted(&fp_context, main_context, NULL);
}

static void test_fp_control(void) {
  uint64_t usual = fp_control();
  char *stack = stack_new();
  fp_context = fiber_arch_make(stack, stack + STACK_SIZE, fp_start, NULL);
  switch_noted(&main_context, fp_context, NULL);
  CHECK(fp_other_seen[0] == usual);
  CHECK(fp_other_round_seen[0] == FE_UPWARD);
  CHECK(fp_control() == usual); /* the other context's change stayed there */
  CHECK(fegetround() == FE_TONEAREST);
  switch_noted(&main_context, fp_context, NULL);
  CHECK(fp_other_seen[1] != usual);
  CHECK(fp_other_round_seen[1] == FE_UPWARD);
  CHECK(fp_control() == usual);

  /* A fresh context starts with its maker's state, not its switcher's. */
  fp_control_set_unusual();
  uint64_t unusual = fp_control();
  fp_context = fiber_arch_make(stack, stack + STACK_SIZE, fp_start, NULL);
  fp_control_restore(usual);
  switch_noted(&main_context, fp_context, NULL);
  CHECK(fp_other_seen[0] == unusual);
  CHECK(fp_control() == usual);
  munmap(stack, STACK_SIZE);
}

/* ---- A ring of contexts ------------------------------------------------- */

#define RING      8
#define RING_LAPS 500

static void *ring_context[RING];
static unsigned ring_visits[RING];

/* Each member adds one to the token and passes it on to the next; the last
   hands it back to main after RING_LAPS laps. */
static void ring_start(void *transfer, void *arg) {
  unsigned me = (unsigned)(uintptr_t)arg;
  for (;;) {
    uintptr_t token = (uintptr_t)transfer;
    ring_visits[me]++;
    void **next = me + 1 < RING ? &ring_context[me + 1] : &main_context;
    if (me + 1 == RING && token + 1 < (uintptr_t)RING * RING_LAPS) next = &ring_context[0];
    transfer = switch_noted(&ring_context[me], *next, (void *)(token + 1));
  }
}

static void test_ring(void) {
  char *stacks[RING];
  for (unsigned i = 0; i < RING; i++) {
    stacks[i] = stack_new();
    ring_context[i] =
        fiber_arch_make(stacks[i], stacks[i] + STACK_SIZE, ring_start, (void *)(uintptr_t)i);
  }
  void *token = switch_noted(&main_context, ring_context[0], (void *)0);
  CHECK(token == (void *)((uintptr_t)RING * RING_LAPS));
  bool even = true;
  for (unsigned i = 0; i < RING; i++)
    even = even && ring_visits[i] == RING_LAPS;
  CHECK(even);
  for (unsigned i = 0; i < RING; i++)
    munmap(stacks[i], STACK_SIZE);
}

int main(void) {
  test_transfer();
  test_callee_saved();
  test_fp_control();
  test_ring();
  CHECK(note_errors == 0);
  return check_report();
}
