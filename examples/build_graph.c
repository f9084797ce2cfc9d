/* build_graph: a make-like build of a dependency graph (a DAG), each target
 * a task that waits for its prerequisites with spool_yield_until_done().
 *
 *   build_graph [TARGETS]   default 20,000; SPOOL_WORKERS=1 runs it on one
 *                           worker (the default is one per hardware thread)
 *
 * The graph is random but fixed (a seeded generator): target order[p] has
 * up to 3 prerequisites among order[0..p). Each target gets a future that
 * says "built", created with spool_future_create() before anything runs,
 * so a task can wait for a prerequisite whose own task has not even been
 * submitted yet. The tasks are then submitted in another random order, as
 * a make that reads its rules in any order would:
 *
 *   1. the task waits for its prerequisites' futures with
 *      spool_yield_until_done(): if they are not built yet, the task is
 *      suspended (it keeps its own small stack, a fiber) and the worker
 *      runs other targets meanwhile; it resumes once the last one is done,
 *      perhaps on another worker;
 *   2. it "builds" (a few microseconds of hashing) and records its place in
 *      the build order;
 *   3. it completes its own future, which resumes the targets waiting on it.
 *
 * With one worker this is the case that needs yield: a blocking wait would
 * hold the only thread while the prerequisite sits in the queue behind it.
 * Up to every target may be suspended at once, so the program raises
 * spool_config.max_fibers to the number of targets and uses 64 KiB fiber
 * stacks (these tasks need little).
 *
 * main() then checks that every target was built after all of its
 * prerequisites, and exits 0 when so (1 otherwise, 2 on an error). */
#include <spool.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { MAX_PREREQUISITES = 3 };

typedef struct target {
  int id;
  int nprereq;
  int prereq[MAX_PREREQUISITES];
  spool_future *built;  /* completed by this target's task */
  uint64_t build_order; /* 1, 2, ...: when it was built; 0: not yet */
  uint64_t output;      /* what the "build" computed */
} target;

static target *targets;
static atomic_uint_fast64_t build_clock;
static atomic_int early_builds; /* a prerequisite seen unbuilt after the wait */

static uint64_t next_random(uint64_t *state) { /* xorshift64 */
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return *state;
}

static void shuffle(int *a, int n, uint64_t *rng) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(next_random(rng) % (uint64_t)(i + 1));
    int t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/* The task: `arg` is its target. */
static int build_target(void *arg, void **result) {
  (void)result;
  target *t = arg;
  spool_future *wait_for[MAX_PREREQUISITES];
  for (int i = 0; i < t->nprereq; i++)
    wait_for[i] = targets[t->prereq[i]].built;
  int rc = spool_yield_until_done(wait_for, (size_t)t->nprereq);
  if (rc != SPOOL_OK) return rc;

  /* Everything a prerequisite's task did before completing its future is
     visible here (spool.h, "Visibility"), so plain reads are enough. */
  uint64_t h = (uint64_t)t->id;
  for (int i = 0; i < t->nprereq; i++) {
    const target *p = &targets[t->prereq[i]];
    if (p->build_order == 0) atomic_fetch_add_explicit(&early_builds, 1, memory_order_relaxed);
    h ^= p->output;
  }
  for (int i = 0; i < 2000; i++)
    h = h * 6364136223846793005u + 1442695040888963407u; /* "build" */
  t->output = h;
  /* relaxed: only the count matters; the order among dependents is given
     by the future completion below. */
  t->build_order = atomic_fetch_add_explicit(&build_clock, 1, memory_order_relaxed) + 1;
  return spool_future_set_result(t->built, NULL); /* wakes the dependents */
}

int main(int argc, char **argv) {
  int n = 20000;
  if (argc > 1) {
    char *end;
    errno = 0;
    long v = strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || errno || v < 1 || v > 10000000) {
      fprintf(stderr, "usage: %s [TARGETS]\n", argv[0]);
      return 2;
    }
    n = (int)v;
  }
  targets = calloc((size_t)n, sizeof *targets);
  int *order = malloc((size_t)n * sizeof *order);
  if (!targets || !order) return 2;

  /* The graph: prerequisites only among targets earlier in `order`, so it
     has no cycle. */
  uint64_t rng = 0x6275696c64u;
  for (int i = 0; i < n; i++)
    order[i] = i;
  shuffle(order, n, &rng);
  for (int p = 0; p < n; p++) {
    target *t = &targets[order[p]];
    t->id = order[p];
    t->nprereq = p == 0 ? 0 : (int)(next_random(&rng) % (MAX_PREREQUISITES + 1));
    for (int k = 0; k < t->nprereq; k++)
      t->prereq[k] = order[next_random(&rng) % (uint64_t)p];
    if (spool_future_create(&t->built) != SPOOL_OK) return 2;
  }

  spool_config config;
  spool_config_init(&config); /* reads SPOOL_WORKERS and the other variables */
  config.max_fibers = (unsigned)n + 64;
  config.fiber_stack_size = 64 * 1024;
  spool_executor *ex;
  int rc = spool_executor_create(&ex, &config);
  if (rc != SPOOL_OK) {
    fprintf(stderr, "spool_executor_create: %s%s%s\n", spool_strerror(rc),
            config.env_error ? ", malformed " : "", config.env_error ? config.env_error : "");
    return 2;
  }
  /* Submit in an order unrelated to the dependencies. */
  shuffle(order, n, &rng);
  for (int i = 0; i < n && rc == SPOOL_OK; i++)
    rc = spool_submit(ex, build_target, &targets[order[i]], NULL);
  int join_rc = spool_join(ex, SPOOL_FOREVER);
  if (rc == SPOOL_OK) rc = join_rc;
  unsigned workers = spool_executor_workers(ex);
  spool_stats stats;
  spool_stats_read(ex, -1, &stats);
  spool_executor_destroy(ex);
  if (rc != SPOOL_OK) {
    fprintf(stderr, "build failed: %s\n", spool_strerror(rc));
    return 2;
  }

  int unbuilt = 0, out_of_order = 0;
  for (int i = 0; i < n; i++) {
    const target *t = &targets[i];
    if (t->build_order == 0) unbuilt++;
    for (int k = 0; k < t->nprereq; k++)
      if (targets[t->prereq[k]].build_order >= t->build_order) out_of_order++;
    spool_future_release(t->built);
  }
  int early = atomic_load_explicit(&early_builds, memory_order_relaxed);
  bool ok = unbuilt == 0 && out_of_order == 0 && early == 0;
  printf("built %d targets with %u worker%s (%llu suspended, waiting for prerequisites)\n", n,
         workers, workers == 1 ? "" : "s", (unsigned long long)stats.suspends);
  if (ok)
    printf("every target was built after its prerequisites\n");
  else
    printf("WRONG: %d unbuilt, %d built before a prerequisite, %d saw one unbuilt\n", unbuilt,
           out_of_order, early);
  free(order);
  free(targets);
  return ok ? 0 : 1;
}
