/* The deque under contention (runtime/deque.h, the internal API): one owner
 * pushes (public and private), publishes on request, takes its private
 * bottom and pops; three thieves steal. Each round starts from a ring of
 * two slots, so it grows many times. Every pushed item must be taken
 * exactly once: per-item counters, the total count and two checksums.
 * Whenever the owner finds its deque empty it trims it (deque_trim: the
 * ring shrinks back and retired rings are freed once no thief is inside a
 * steal), so rings are replaced and freed while thieves read them: a ring
 * freed too early is a use after free (ASan, valgrind) or a foreign item.
 * At the end of each round, with the thieves stopped, the trim must leave
 * nothing to reclaim.
 *
 * SPOOL_STRESS_SCALE multiplies the item count (6,000,000 at scale 1:
 * over 12 million deque operations). */
#include <deque.h>
#include <pthread.h>

#include "stress.h"

#define THIEVES 3
#define ROUNDS  10

static work_item *items;
static atomic_uchar *taken;
static long n_items;

static deque *current; /* the round's deque; set before the start barrier */
static atomic_int round_done;
static pthread_barrier_t barrier;

/* Totals, added once per thread per round. */
static atomic_long total_taken, total_stolen;
static atomic_ullong total_sum, total_hash;

static uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ull;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dull;
  x ^= x >> 33;
  return x;
}

typedef struct tally {
  long count;
  uint64_t sum, hash;
} tally;

static void take(tally *t, work_item *it) {
  long i = it - items;
  if (!VERIFYF(i >= 0 && i < n_items, "a foreign pointer %p came out of the deque", (void *)it))
    return;
  atomic_fetch_add_explicit(&taken[i], 1, memory_order_relaxed);
  t->count++;
  t->sum += (uint64_t)i;
  t->hash += mix((uint64_t)i);
}

static void tally_flush(tally *t) {
  atomic_fetch_add(&total_taken, t->count);
  atomic_fetch_add(&total_sum, t->sum);
  atomic_fetch_add(&total_hash, t->hash);
  *t = (tally){0, 0, 0};
}

static void *thief(void *arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
  for (int r = 0; r < ROUNDS; r++) {
    pthread_barrier_wait(&barrier);
    tally t = {0, 0, 0};
    long stolen = 0;
    for (;;) {
      work_item *it = NULL;
      steal_status s = deque_steal(current, &it);
      if (s == STEAL_OK) {
        if (VERIFY(it != NULL)) take(&t, it);
        stolen++;
        continue;
      }
      if (s == STEAL_LOST_RACE) continue;
      VERIFY(it == NULL);
      /* empty: stop once the owner has drained the deque */
      if (atomic_load(&round_done)) break;
      if (stress_rand(&rng) % 64 == 0) sched_yield();
    }
    /* after the owner's final empty pop nothing can be left */
    work_item *late = NULL;
    CHECKF(deque_steal(current, &late) == STEAL_EMPTY, "an item appeared after the drain");
    tally_flush(&t);
    atomic_fetch_add(&total_stolen, stolen);
    pthread_barrier_wait(&barrier);
  }
  return NULL;
}

/* Owner: a public push (whether it answered a thief's request does not
   matter here: the thieves spin instead of sleeping). */
static bool push(work_item *it) {
  bool answered;
  return deque_push(current, it, &answered);
}

static void owner_round(long lo, long hi, uint64_t *rng) {
  tally t = {0, 0, 0};
  long next = lo;
  while (next < hi) {
    uint64_t r = stress_rand(rng);
    long burst = (r & 0x100) ? 1 + (long)(r % 512) : 1 + (long)(r % 32);
    for (long k = 0; k < burst && next < hi; k++, next++) {
      work_item *it = &items[next];
      uint64_t how = stress_rand(rng) % 8;
      if (how < 3) {
        VERIFY(push(it));
      } else {
        deque_push_private(current, it);
        /* the fork-join fast path: take it straight back, sometimes */
        if (how == 7 && deque_take_private_bottom(current, it)) take(&t, it);
      }
      if (deque_publish_requested(current)) deque_publish(current, (how & 1) != 0);
    }
    /* pop part of the burst, half of the time: thieves get the rest */
    long pops = (r & 0x200) ? (long)(stress_rand(rng) % (uint64_t)(burst + 1)) : 0;
    for (long k = 0; k < pops; k++) {
      work_item *it = deque_pop(current);
      if (!it) {
        deque_trim(current); /* empty: shrink and reclaim under the thieves */
        break;
      }
      take(&t, it);
    }
    if (stress_rand(rng) % 16 == 0) deque_publish(current, true);
  }
  tally_flush(&t);
  CHECK(next == hi);
}

/* The last-item race: the owner keeps one to three (mostly two) public
   items and pops them back at once while the thieves steal, so owner and thieves meet at
   the last item again and again (Chase-Lev's CAS on top decides). */
static void owner_round_last_item(long lo, long hi, uint64_t *rng) {
  tally t = {0, 0, 0};
  long next = lo;
  while (next < hi) {
    /* mostly two: a thief takes one, the owner's pop races for the other */
    uint64_t r = stress_rand(rng) % 8;
    long k = r == 0 ? 1 : r == 1 ? 3 : 2;
    for (long j = 0; j < k && next < hi; j++, next++)
      VERIFY(push(&items[next]));
    work_item *it;
    while ((it = deque_pop(current)))
      take(&t, it);
    if (r == 1) deque_trim(current); /* three items grew the ring of two */
  }
  tally_flush(&t);
}

static void owner_drain(void) {
  tally t = {0, 0, 0};
  /* drain: pop until empty; thieves keep stealing meanwhile */
  for (;;) {
    if (deque_publish_requested(current)) deque_publish(current, false);
    work_item *it = deque_pop(current);
    if (!it) break;
    take(&t, it);
  }
  CHECK(deque_pop(current) == NULL);
  tally_flush(&t);
}

int main(void) {
  n_items = stress_budget(6000000);
  items = calloc((size_t)n_items, sizeof *items);
  taken = calloc((size_t)n_items, sizeof *taken);
  if (!items || !taken) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  fprintf(stderr, "deque_stress: %ld items, %d thieves, %d rounds\n", n_items, THIEVES, ROUNDS);
  stress_phase("owner + thieves", 60.0 + (double)n_items / 20000.0);

  pthread_barrier_init(&barrier, NULL, THIEVES + 1);
  pthread_t th[THIEVES];
  for (long i = 0; i < THIEVES; i++)
    pthread_create(&th[i], NULL, thief, (void *)(i + 1));

  uint64_t rng = 0x1234567887654321ull;
  for (int r = 0; r < ROUNDS; r++) {
    deque d;
    CHECK(deque_init(&d, 1)); /* two slots: it must grow */
    current = &d;
    atomic_store(&round_done, 0);
    pthread_barrier_wait(&barrier); /* start */
    long lo = n_items * r / ROUNDS, hi = n_items * (r + 1) / ROUNDS;
    if (r % 2)
      owner_round(lo, hi, &rng);
    else
      owner_round_last_item(lo, hi, &rng);
    owner_drain();
    atomic_store(&round_done, 1);
    pthread_barrier_wait(&barrier); /* every thief has stopped */
    size_t initial_bytes = sizeof(deque_buffer) + 2 * sizeof(work_item *);
    CHECKF(deque_trim(&d) && deque_ring_bytes(&d) == initial_bytes,
           "round %d: %zu bytes of rings left after the final trim", r, deque_ring_bytes(&d));
    deque_destroy(&d);
  }
  for (int i = 0; i < THIEVES; i++)
    pthread_join(th[i], NULL);

  long missing = 0, duplicated = 0, first_bad = -1;
  uint64_t sum = 0, hash = 0;
  for (long i = 0; i < n_items; i++) {
    unsigned c = atomic_load_explicit(&taken[i], memory_order_relaxed);
    if (c != 1 && first_bad < 0) first_bad = i;
    missing += c == 0;
    duplicated += c > 1;
    sum += (uint64_t)i;
    hash += mix((uint64_t)i);
  }
  CHECKF(missing == 0, "%ld items never taken (first bad: %ld)", missing, first_bad);
  CHECKF(duplicated == 0, "%ld items taken twice (first bad: %ld)", duplicated, first_bad);
  CHECKF(atomic_load(&total_taken) == n_items, "taken %ld of %ld", atomic_load(&total_taken),
         n_items);
  CHECK(atomic_load(&total_sum) == sum);
  CHECK(atomic_load(&total_hash) == hash);
  /* the thieves must have taken part, or this tested nothing concurrent;
     valgrind runs one thread at a time, so there the owner may finish a
     round before a thief is scheduled (it checks memory, not the races) */
  if (!test_under_valgrind()) CHECKF(atomic_load(&total_stolen) > 0, "no steal succeeded");
  fprintf(stderr, "stolen: %ld of %ld\n", atomic_load(&total_stolen), n_items);
  watchdog_disarm();
  pthread_barrier_destroy(&barrier);
  free(items);
  free((void *)taken);
  return stress_report();
}
