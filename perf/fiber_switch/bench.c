/* The cost of one fiber switch.
 *
 * Two fibers ping-pong round trips (two switches each) through
 * fiber_switch(), the full path the runtime takes (its annotations are
 * empty in a build without sanitizers); the best of REPETITIONS runs is
 * reported, in ns per switch. For scale, the same ping-pong through glibc's
 * swapcontext() directly (what the ucontext fallback costs at least).
 *
 * Output, one measurement a line:
 *     fiber_switch_ns 5.6
 *     swapcontext_ns 220.0
 *
 * Usage: fiber_switch_bench [round_trips]
 * Without an argument, each run is sized to take about 10 ms (so a build
 * with the ucontext switch takes as long as one with the assembly). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ucontext.h>

#include "fiber.h"

/* Many short runs rather than a few long ones: on a shared machine the
   best of them is one that ran undisturbed. */
#define REPETITIONS 25
#define RUN_NS      10e6

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Best ns per switch of `run(round_trips)` over the repetitions; with
   round_trips 0, sized from a first short run. */
static double best_ns_per_switch(void (*run)(unsigned long), unsigned long round_trips) {
  if (round_trips == 0) {
    double t0 = now_ns();
    run(1000);
    double per_round_trip = (now_ns() - t0) / 1000;
    round_trips = per_round_trip > 0 ? (unsigned long)(RUN_NS / per_round_trip) : 1000000;
    if (round_trips < 1000) round_trips = 1000;
  }
  double best = 1e300;
  for (int r = 0; r < REPETITIONS; r++) {
    double t0 = now_ns();
    run(round_trips);
    double per_switch = (now_ns() - t0) / (2.0 * (double)round_trips);
    if (per_switch < best) best = per_switch;
  }
  return best;
}

/* ---- fiber_switch --------------------------------------------------------- */

static fiber main_fiber;
static fiber *partner;

static void partner_entry(void *transfer) {
  for (;;)
    transfer = fiber_switch(partner, &main_fiber, transfer);
}

static void fiber_round_trips(unsigned long n) {
  for (unsigned long i = 0; i < n; i++)
    fiber_switch(&main_fiber, partner, NULL);
}

/* ---- swapcontext ---------------------------------------------------------- */

static ucontext_t uc_main, uc_partner;

static void uc_partner_entry(void) {
  for (;;)
    swapcontext(&uc_partner, &uc_main);
}

static void swapcontext_round_trips(unsigned long n) {
  for (unsigned long i = 0; i < n; i++)
    swapcontext(&uc_main, &uc_partner);
}

static int swapcontext_start(void) {
  static char stack[64 << 10];
  if (getcontext(&uc_partner) != 0) return -1;
  uc_partner.uc_stack.ss_sp = stack;
  uc_partner.uc_stack.ss_size = sizeof stack;
  uc_partner.uc_link = NULL;
  makecontext(&uc_partner, uc_partner_entry, 0);
  return swapcontext(&uc_main, &uc_partner); /* start it, and warm up */
}

int main(int argc, char **argv) {
  unsigned long round_trips = 0;
  if (argc > 1) {
    char *end;
    round_trips = strtoul(argv[1], &end, 10);
    if (*argv[1] < '0' || *argv[1] > '9' || *end || round_trips == 0) {
      fprintf(stderr, "usage: %s [round_trips]\n", argv[0]);
      return 2;
    }
  }
  fiber_init_thread(&main_fiber);
  fiber_source source;
  fiber_cache cache;
  if (fiber_source_init(&source, 64 << 10, 4) != 0) {
    perror("fiber_source_init");
    return 1;
  }
  fiber_cache_init(&cache, &source);
  partner = fiber_acquire(&cache, partner_entry);
  if (!partner) {
    perror("fiber_acquire");
    return 1;
  }
  fiber_switch(&main_fiber, partner, NULL); /* start it, and warm up */
  printf("fiber_switch_ns %.1f\n", best_ns_per_switch(fiber_round_trips, round_trips));
  if (swapcontext_start() != 0) {
    perror("swapcontext");
    return 1;
  }
  printf("swapcontext_ns %.1f\n", best_ns_per_switch(swapcontext_round_trips, round_trips));
  fiber_release(&cache, partner);
  fiber_cache_destroy(&cache);
  fiber_source_destroy(&source);
  fiber_exit_thread(&main_fiber);
  return 0;
}
