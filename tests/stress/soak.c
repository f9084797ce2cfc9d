/* Soak: rounds of bursts of fire-and-forget tasks and fork-join trees on
 * one long-lived executor; the process's memory must stay flat.
 *
 * Each round a root task submits bursters; each burster submits its share
 * of the round's leaves as fire-and-forget tasks from inside a task, so
 * they go onto its worker's deque and the ring grows to hold the burst
 * while the other workers steal from it. Each round also runs a fork-join
 * tree. Then spool_join() from main(). Checked every round: every leaf ran
 * once (count and checksum), the tree's sum, the join's code.
 *
 * Memory: the resident set (/proc/self/statm, after malloc_trim() so that
 * memory the allocator caches but the program does not hold is not
 * counted) is taken once after a small warm-up round (threads, fibers,
 * free lists, the allocator's arenas), and after each full round it must
 * come back within a slack of that baseline: a ring a burst grew (the
 * round's burst holds megabytes of ring) and every ring it replaced must
 * have been given back (runtime/deque.c, "Shrinking" and "Reclamation").
 * Workers do that when they go idle, a moment after the join may return:
 * the check waits for it, bounded, and fails if the memory stays up.
 * Skipped under ASan, TSan and valgrind, whose allocators and shadow
 * memory make the resident set meaningless, and under an emulator
 * (SPOOL_TEST_EMULATOR), too slow for full rounds; there the rounds are
 * smaller (their rings too small to tell) and the correctness checks (and
 * the sanitizers' use-after-free checks on the rings) still run.
 *
 * SPOOL_STRESS_SCALE=N runs 10 * N rounds of 10^6 leaves: 10^7 tasks at
 * scale 1 (a few seconds), 10^9 at scale 100. */
#include <spool.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "stress.h"

#define BURSTERS   2
#define TREE_DEPTH 14
/* Resident-set growth over the baseline allowed after a round (measured
   here: under 5 MiB, most of it rings not yet trimmed when sampled). A
   round grows the forking worker's ring to 2^19 slots (4 MiB) and each
   burster's to 2^18, and the rings they replaced hold as much again: kept,
   as before deque.c reclaimed them, they held about 28 MiB. */
#define SLACK_BYTES (8L << 20)

static spool_executor *ex;
static long leaves_per_burster;
static atomic_long leaves_run;
static atomic_ullong leaves_sum;
static atomic_long submit_failures;

static int leaf(void *arg, void **result) {
  (void)result;
  atomic_fetch_add_explicit(&leaves_run, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&leaves_sum, (unsigned long long)(uintptr_t)arg, memory_order_relaxed);
  return 0;
}

static int burster(void *arg, void **result) {
  (void)result;
  uintptr_t base = (uintptr_t)arg;
  for (long i = 0; i < leaves_per_burster; i++)
    if (spool_submit(ex, leaf, (void *)(base + (uintptr_t)i), NULL) != SPOOL_OK)
      atomic_fetch_add(&submit_failures, 1);
  return 0;
}

/* A binary tree of forks: the number of nodes below and at this one. */
static int tree(void *arg, void **result) {
  uintptr_t depth = (uintptr_t)arg;
  if (depth == 0) {
    *result = (void *)(uintptr_t)1;
    return 0;
  }
  spool_task t;
  spool_fork(&t, tree, (void *)(depth - 1));
  void *right = NULL;
  tree((void *)(depth - 1), &right);
  void *left = NULL;
  int rc = spool_sync(&t, &left);
  *result = (void *)((uintptr_t)left + (uintptr_t)right + 1);
  return rc;
}

static atomic_ullong tree_nodes;

/* A burst of forks: frames from the test's own array (allocated once, so
   the round allocates nothing per frame), synced in reverse order. The
   worker's ring grows to hold them; thieves ask for work and steal. */
static spool_task *frames;
static long frames_per_round;
static atomic_long frames_failed;

static int fork_leaf(void *arg, void **result) {
  *result = arg;
  return 0;
}

static int fork_burst(void *arg, void **result) {
  (void)arg;
  (void)result;
  long n = frames_per_round, bad = 0;
  for (long i = 0; i < n; i++)
    spool_fork(&frames[i], fork_leaf, (void *)(uintptr_t)(i + 1));
  for (long i = n - 1; i >= 0; i--) {
    void *r = NULL;
    if (spool_sync(&frames[i], &r) != SPOOL_OK || r != (void *)(uintptr_t)(i + 1)) bad++;
  }
  atomic_fetch_add(&frames_failed, bad);
  return 0;
}

static int root(void *arg, void **result) {
  (void)result;
  (void)arg;
  if (spool_submit(ex, fork_burst, NULL, NULL) != SPOOL_OK) atomic_fetch_add(&submit_failures, 1);
  for (uintptr_t b = 0; b < BURSTERS; b++)
    if (spool_submit(ex, burster, (void *)(b * (uintptr_t)leaves_per_burster), NULL) != SPOOL_OK)
      atomic_fetch_add(&submit_failures, 1);
  void *nodes = NULL;
  int rc = tree((void *)(uintptr_t)TREE_DEPTH, &nodes);
  atomic_store(&tree_nodes, (unsigned long long)(uintptr_t)nodes);
  return rc;
}

/* One round: the bursts and the tree, joined; checks what ran. */
static bool round_run(int r, long per_burster, long forks) {
  leaves_per_burster = per_burster;
  frames_per_round = forks;
  atomic_store(&leaves_run, 0);
  atomic_store(&leaves_sum, 0);
  atomic_store(&tree_nodes, 0);
  bool ok = VERIFYF(spool_submit(ex, root, NULL, NULL) == SPOOL_OK, "round %d: submit", r);
  int rc = spool_join(ex, 120.0);
  ok &= VERIFYF(rc == SPOOL_OK, "round %d: join returned %d", r, rc);
  long n = (long)BURSTERS * per_burster;
  /* leaves carry 0 .. n-1 */
  unsigned long long sum = (unsigned long long)n * (unsigned long long)(n - 1) / 2;
  ok &= VERIFYF(atomic_load(&leaves_run) == n, "round %d: %ld of %ld leaves ran", r,
                atomic_load(&leaves_run), n);
  ok &= VERIFYF(atomic_load(&leaves_sum) == sum, "round %d: checksum", r);
  ok &= VERIFYF(atomic_load(&tree_nodes) == (2ull << TREE_DEPTH) - 1,
                "round %d: the tree counted %llu nodes", r, atomic_load(&tree_nodes));
  ok &= VERIFYF(atomic_load(&submit_failures) == 0, "round %d: a submit failed", r);
  ok &= VERIFYF(atomic_load(&frames_failed) == 0, "round %d: %ld forks synced wrong", r,
                atomic_load(&frames_failed));
  return ok;
}

/* Resident bytes, after handing the allocator's free memory back. */
static long resident_bytes(void) {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long size = 0, resident = -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* Waits (bounded) until the resident set is back within the slack: the
   workers trim their deques when they go idle, just after the join. */
static long resident_settled(long limit) {
  double end = now_s() + 5.0;
  long rss;
  while ((rss = resident_bytes()) > limit && now_s() < end)
    sleep_s(0.001);
  return rss;
}

int main(void) {
  bool check_memory = true;
  const char *why = NULL;
#if defined(TEST_ASAN)
  check_memory = false, why = "ASan's allocator quarantines freed memory";
#elif defined(TEST_TSAN)
  check_memory = false, why = "TSan's shadow memory follows the heap";
#endif
  if (test_under_valgrind()) check_memory = false, why = "valgrind's allocator";
  if (test_under_emulator()) check_memory = false, why = "an emulator, small rounds";
  if (check_memory && resident_bytes() < 0) check_memory = false, why = "no /proc/self/statm";

#if defined(__GLIBC__)
  /* Fixed thresholds: glibc raises both when a big block (a ring) is
     freed, and would then keep up to twice that much free memory at the
     top of each arena. */
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
  /* One arena: malloc_trim() trims the top of the main arena only. */
  mallopt(M_ARENA_MAX, 1);
#endif
  long rounds = 10 * (long)stress_scale();
  long per_burster = 500000 / BURSTERS, forks = 500000;
  if (!check_memory) { /* sanitizers, emulators: smaller rounds, same shape */
    rounds = 4;
    per_burster /= 10;
    forks /= 10;
  }
  frames = calloc((size_t)forks, sizeof *frames);
  if (!CHECK(frames != NULL)) return stress_report();
  memset(frames, 0xA5, (size_t)forks * sizeof *frames); /* resident from the start */
  fprintf(stderr, "soak: %ld rounds of %d x %ld leaves and a tree of depth %d%s%s\n", rounds,
          BURSTERS, per_burster, TREE_DEPTH,
          check_memory ? "" : "; memory not checked: ", check_memory ? "" : why);
  stress_phase("soak", 120.0 + 30.0 * (double)rounds);

  spool_config c;
  spool_config_init(&c);
  c.workers = 4; /* more deques than the bursters, thieves on each */
  if (!CHECK(spool_executor_create(&ex, &c) == SPOOL_OK)) return stress_report();

  /* Warm-up: everything the executor keeps for good (threads, fibers,
     free lists, arenas), with bursts too small to grow a ring far. */
  CHECK(round_run(-1, per_burster, 1000));
  long baseline = check_memory ? resident_bytes() : 0;
  long worst = 0;
  int failed_round = -1;
  for (long r = 0; r < rounds; r++) {
    CHECK(round_run((int)r, per_burster, forks));
    if (!check_memory) continue;
    long rss = resident_settled(baseline + SLACK_BYTES);
    if (rss - baseline > worst) worst = rss - baseline;
    if (rss > baseline + SLACK_BYTES && failed_round < 0) failed_round = (int)r;
  }
  if (check_memory) {
    fprintf(stderr, "resident: baseline %ld KiB, worst growth after a round %ld KiB\n",
            baseline >> 10, worst >> 10);
    CHECKF(failed_round < 0,
           "the resident set stayed above the baseline + %ld KiB after round %d (%ld KiB "
           "over at worst): memory held across rounds",
           SLACK_BYTES >> 10, failed_round, worst >> 10);
  }
  spool_executor_destroy(ex);
  free(frames);
  watchdog_disarm();
  return stress_report();
}
