/* A make-like DAG with the default configuration (issue 9, defect 7).
 *
 * 20,000 nodes (5,000 under ThreadSanitizer, which needs more mappings per
 * fiber than the default cap assumes: see NODES_TSAN), each depending on up to 8 earlier nodes,
 * each a task that yields on its dependencies' futures, does a few microseconds of work, and
 * returns a value computed from its dependencies' values. The nodes are submitted in reverse order
 * (every node waits before any dependency has run) and in a random order, on one worker and on
 * every worker, with spool_config_init()'s defaults: the default max_fibers must let every node
 * park at once (DESIGN.md "Fibers", changed 2026-12).
 *
 * Two shapes of waiting:
 *   created  each node yields on its dependencies' created futures, which
 *            each node completes as its last action (a node that runs
 *            before its dependencies parks at once);
 *   tasks    each node yields on a gate (a created future main completes
 *            once every node is submitted, so every future exists), then
 *            on its dependencies' task futures, which the yield runs inline
 *            when they have not started.
 * Two kinds of dependency: random among all earlier nodes (a shallow DAG),
 * and local, among the 16 nodes just before (chains thousands of nodes
 * long, which the inline runs of `tasks` must not follow to a stack
 * overflow).
 * Checks: every node's value against a serial evaluation, every node ran
 * once and after its dependencies (its value says so), and the run
 * finishes within the watchdog (a livelock or a deadlock fails loudly).
 * SPOOL_STRESS_SCALE runs that many rounds of the 16 runs, with new seeds. */
#include "harness.h"

#define NODES_FULL 20000
/* Under clang's ThreadSanitizer each parked fiber costs about 6 mappings,
   not 2 (its own trace parts and context, measured: 2,000 parked tasks
   took 12,100 mappings, and about 5 per fiber stay mapped after the
   executor is destroyed, for TSan to reuse), so a TSan build's default
   cap is 8191 (runtime/config.c; tests/suspend/map_budget.c), below
   20,000. 5,000 nodes there park at once within it, about 2 minutes on
   the development machine. */
#define NODES_TSAN 5000
#define MAX_DEPS   8
#define LOCAL_SPAN 16

typedef struct node {
  int ndeps;
  int deps[MAX_DEPS];
  spool_future *done; /* created mode: completed by the node itself */
  spool_future *task; /* tasks mode: the node's task future */
  _Atomic uint64_t value;
  _Atomic int runs;
} node;

static node *nodes;
static uint64_t *expected;
static int nnodes;
static spool_future *gate;
static bool mode_tasks;

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

/* About 2 us of arithmetic the optimiser cannot drop. */
static uint64_t work(uint64_t seed) {
  uint64_t x = seed;
  for (int k = 0; k < 400; k++)
    x = mix(x + (uint64_t)k);
  return x;
}

static uint64_t node_value(int i, const uint64_t *dep_values) {
  uint64_t v = mix((uint64_t)i + 1);
  for (int k = 0; k < nodes[i].ndeps; k++)
    v += mix(dep_values[k] ^ (uint64_t)k);
  return v ^ (work(v) & 0xff);
}

static int run_node(void *arg, void **result) {
  (void)result;
  int i = (int)(intptr_t)arg;
  node *n = &nodes[i];
  spool_future *fs[MAX_DEPS];
  /* The gate orders main's writes of every `task` before the reads below. */
  if (mode_tasks && spool_future_yield_until_done(gate) != SPOOL_OK) return 1;
  for (int k = 0; k < n->ndeps; k++)
    fs[k] = mode_tasks ? nodes[n->deps[k]].task : nodes[n->deps[k]].done;
  if (spool_yield_until_done(fs, (size_t)n->ndeps) != SPOOL_OK) return 2;
  uint64_t dv[MAX_DEPS];
  for (int k = 0; k < n->ndeps; k++) {
    if (!spool_future_done(fs[k])) return 3;
    /* relaxed: the dependency's completion (its future) orders it */
    dv[k] = atomic_load_explicit(&nodes[n->deps[k]].value, memory_order_relaxed);
  }
  atomic_store_explicit(&n->value, node_value(i, dv), memory_order_relaxed);
  atomic_fetch_add_explicit(&n->runs, 1, memory_order_relaxed);
  if (!mode_tasks && spool_future_set_result(n->done, NULL) != SPOOL_OK) return 4;
  return 0;
}

static void make_dag(bool local, uint64_t seed) {
  for (int i = 0; i < nnodes; i++) {
    node *n = &nodes[i];
    n->ndeps = i == 0 ? 0 : (int)(mix(seed + (uint64_t)i) % (MAX_DEPS + 1));
    int lo = local && i > LOCAL_SPAN ? i - LOCAL_SPAN : 0;
    for (int k = 0; k < n->ndeps; k++)
      n->deps[k] = lo + (int)(mix(seed ^ ((uint64_t)i << 8 | (uint64_t)k)) % (uint64_t)(i - lo));
    /* local: always the node just before, so the chain runs the whole DAG */
    if (local && i > 0 && n->ndeps == 0) n->ndeps = 1, n->deps[0] = i - 1;
  }
  for (int i = 0; i < nnodes; i++) {
    uint64_t dv[MAX_DEPS];
    for (int k = 0; k < nodes[i].ndeps; k++)
      dv[k] = expected[nodes[i].deps[k]];
    expected[i] = node_value(i, dv);
  }
}

static void one_run(unsigned workers, bool tasks, bool local, bool reverse, uint64_t seed) {
  char name[160];
  snprintf(name, sizeof name, "%u worker(s), %s futures, %s dependencies, %s order, %d nodes",
           workers, tasks ? "task" : "created", local ? "local" : "random",
           reverse ? "reverse" : "random", nnodes);
  harness_phase_limited(name, 120);
  mode_tasks = tasks;
  make_dag(local, seed);
  int *order = malloc(sizeof *order * (size_t)nnodes);
  if (!order) abort();
  for (int k = 0; k < nnodes; k++)
    order[k] = nnodes - 1 - k;
  if (!reverse) /* Fisher-Yates */
    for (int k = nnodes - 1; k > 0; k--) {
      int j = (int)(mix(seed * 31 + (uint64_t)k) % (uint64_t)(k + 1));
      int t = order[k];
      order[k] = order[j];
      order[j] = t;
    }
  for (int i = 0; i < nnodes; i++) {
    nodes[i].done = tasks ? NULL : harness_created();
    nodes[i].task = NULL;
    atomic_store(&nodes[i].value, 0);
    atomic_store(&nodes[i].runs, 0);
  }
  gate = harness_created();

  spool_config c;
  spool_config_init(&c); /* the defaults: the point of the test */
  c.workers = workers;
  spool_executor *ex = NULL;
  if (!CHECK_EQ(spool_executor_create(&ex, &c), SPOOL_OK)) abort();
  spool_future **fut = malloc(sizeof *fut * (size_t)nnodes);
  if (!fut) abort();
  for (int k = 0; k < nnodes; k++) {
    int i = order[k];
    fut[i] = harness_submit(ex, run_node, HARNESS_PTR(i));
    nodes[i].task = fut[i];
  }
  CHECK_EQ(spool_future_set_result(gate, NULL), SPOOL_OK);
  CHECK_EQ(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  int ok = 0, right = 0, once = 0;
  for (int i = 0; i < nnodes; i++) {
    void *r;
    ok += spool_future_result(fut[i], 0, &r) == SPOOL_OK;
    right += atomic_load(&nodes[i].value) == expected[i];
    once += atomic_load(&nodes[i].runs) == 1;
  }
  /* All three checked, whatever the first gives. */
  bool all_ok = CHECK_EQ(ok, nnodes);
  bool all_right = CHECK_EQ(right, nnodes);
  bool all_once = CHECK_EQ(once, nnodes);
  if (!all_ok || !all_right || !all_once) fprintf(stderr, "in: %s\n", name);
  spool_stats s = harness_stats(ex);
  if (getenv("HARNESS_VERBOSE"))
    fprintf(stderr, "   suspends %" PRIu64 ", nested %" PRIu64 ", inline %" PRIu64 "\n", s.suspends,
            s.nested_waits, s.inline_claims);
  CHECK_EQ(s.suspends, s.resumes);
  spool_executor_destroy(ex);
  for (int i = 0; i < nnodes; i++) {
    spool_future_release(fut[i]);
    if (nodes[i].done) spool_future_release(nodes[i].done);
  }
  spool_future_release(gate);
  free(fut);
  free(order);
}

int main(void) {
#ifdef HARNESS_TSAN
  nnodes = NODES_TSAN;
#else
  nnodes = NODES_FULL;
#endif
  nodes = calloc((size_t)nnodes, sizeof *nodes);
  expected = calloc((size_t)nnodes, sizeof *expected);
  if (!nodes || !expected) abort();
  spool_config c;
  spool_config_init(&c);
  printf("default max_fibers: %u\n", c.max_fibers);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned all = cpus > 0 && cpus < HARNESS_MAX_WORKERS ? (unsigned)cpus : 2;
  unsigned worker_counts[2] = {1, all};
  /* SPOOL_STRESS_SCALE: more DAGs (other seeds), not bigger ones: the node
     count is what the default cap must hold. */
  uint64_t seed = 1;
  for (unsigned round = 0; round < harness_scale(); round++)
    for (int w = 0; w < 2; w++)
      for (int tasks = 0; tasks < 2; tasks++)
        for (int local = 0; local < 2; local++)
          for (int reverse = 1; reverse >= 0; reverse--)
            one_run(worker_counts[w], tasks, local, reverse, seed++);
  harness_watchdog_off();
  free(nodes);
  free(expected);
  return harness_report();
}
