/* No task is lost by join.
 *
 * 1. Several outside threads submit random trees of fire-and-forget tasks
 *    (each node spawns its children with spool_submit) while the main
 *    thread joins repeatedly: a join must see at least every node of the
 *    trees submitted before it started, and after the submitters stop, a
 *    join must see exactly every node.
 * 2. Several joiners at once: each sees every node; a failing node's error
 *    is returned by exactly one of them.
 * 3. The wake-up of a joiner by an outside cancel: a task is queued and
 *    cancelled at once while a joiner waits; when the cancel wins, only the
 *    canceller can wake the joiner (a lost wake-up times out).
 *
 * SPOOL_STRESS_SCALE multiplies the rounds. */
#include <pthread.h>

#include "stress.h"
#include "threads.h"

static spool_executor *ex;
static double wait_limit;
static atomic_long visited;

static uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

/* A node is (id, depth), packed into the task argument; its children follow
   from a hash of the id. Some nodes fail, when the tree asks for it. */
#define MAX_DEPTH 9
#define FAIL_CODE (-77)

static unsigned children_of(uint64_t id, unsigned depth) {
  if (depth >= MAX_DEPTH) return 0;
  if (depth < 2) return 3;
  return (unsigned)(mix(id) % 4); /* mean 1.5 */
}

static long subtree_size(uint64_t id, unsigned depth) {
  long n = 1;
  for (unsigned k = 0; k < children_of(id, depth); k++)
    n += subtree_size(id * 4 + k + 1, depth + 1);
  return n;
}

static void *pack(uint64_t id, unsigned depth, bool failing) {
  return (void *)(uintptr_t)((id << 5) | ((uint64_t)failing << 4) | depth);
}

static int node_task(void *arg, void **result) {
  (void)result;
  uintptr_t p = (uintptr_t)arg;
  uint64_t id = p >> 5;
  unsigned depth = (unsigned)(p & 15);
  bool failing = (p >> 4) & 1;
  for (unsigned k = 0; k < children_of(id, depth); k++)
    VERIFY(spool_submit(ex, node_task, pack(id * 4 + k + 1, depth + 1, failing), NULL) == SPOOL_OK);
  atomic_fetch_add_explicit(&visited, 1, memory_order_relaxed);
  /* the leaves of a failing tree fail */
  return failing && children_of(id, depth) == 0 ? FAIL_CODE : 0;
}

/* The id of a tree's root (ids only seed the hash that shapes a tree). */
static uint64_t root_id(uint64_t serial) {
  return serial + 1; /* ids below MAX_DEPTH levels stay far below 2^59 */
}

/* ---- 1. Submitters and a repeated joiner ---------------------------------- */

static atomic_long expected_submitted; /* nodes of the trees submitted so far */
static atomic_int submitters_running;

typedef struct submitter {
  uint64_t first_serial;
  long trees;
} submitter;

static void *submit_trees(void *arg) {
  submitter *s = arg;
  for (long i = 0; i < s->trees; i++) {
    uint64_t id = root_id(s->first_serial + (uint64_t)i);
    long n = subtree_size(id, 0);
    /* counted before the submission: a join that starts later must see it */
    if (VERIFY(spool_submit(ex, node_task, pack(id, 0, false), NULL) == SPOOL_OK))
      atomic_fetch_add(&expected_submitted, n);
    if (i % 8 == 7) sched_yield();
  }
  atomic_fetch_sub(&submitters_running, 1);
  return NULL;
}

static void phase_trees(long trees_per_thread) {
  enum { T = 3 };
  submitter s[T];
  pthread_t t[T];
  atomic_store(&visited, 0);
  atomic_store(&expected_submitted, 0);
  atomic_store(&submitters_running, T);
  for (int i = 0; i < T; i++) {
    s[i] = (submitter){(uint64_t)i * 1000000, trees_per_thread};
    pthread_create(&t[i], NULL, submit_trees, &s[i]);
  }
  long joins = 0, short_joins = 0, timeouts = 0;
  while (atomic_load(&submitters_running) > 0) {
    /* the trees counted here were submitted before this join started */
    long before = atomic_load(&expected_submitted);
    double t0 = now_s();
    int rc = spool_join(ex, wait_limit);
    long seen = atomic_load(&visited);
    joins++;
    if (rc == SPOOL_ETIMEDOUT || stress_hit_limit(t0, wait_limit)) timeouts++;
    if (seen < before) {
      if (short_joins++ < 5)
        fprintf(stderr, "join returned having seen %ld nodes of %ld\n", seen, before);
    }
  }
  for (int i = 0; i < T; i++)
    pthread_join(t[i], NULL);
  CHECK(spool_join(ex, wait_limit) == SPOOL_OK);
  long expected = atomic_load(&expected_submitted);
  CHECKF(atomic_load(&visited) == expected, "final join saw %ld nodes of %ld",
         atomic_load(&visited), expected);
  CHECKF(short_joins == 0, "%ld of %ld joins returned before the earlier trees finished",
         short_joins, joins);
  CHECKF(timeouts == 0, "%ld joins ran into their timeout (lost wake-up)", timeouts);
  fprintf(stderr, "%ld nodes, %ld joins while submitting\n", expected, joins);
}

/* ---- 2. Concurrent joiners ------------------------------------------------- */

#define JOINERS 3

static pthread_barrier_t round_start, round_end;
static atomic_long round_expected;
static atomic_int stop_joiners;

typedef struct joiner {
  long short_joins, errors_seen, timeouts, bad_codes;
} joiner;

static void *joiner_thread(void *arg) {
  joiner *j = arg;
  for (;;) {
    pthread_barrier_wait(&round_start);
    if (atomic_load(&stop_joiners)) break;
    double t0 = now_s();
    int rc = spool_join(ex, wait_limit);
    if (rc == SPOOL_ETIMEDOUT || stress_hit_limit(t0, wait_limit))
      j->timeouts++;
    else if (rc == FAIL_CODE)
      j->errors_seen++;
    else if (rc != SPOOL_OK)
      j->bad_codes++;
    if (atomic_load(&visited) != atomic_load(&round_expected)) j->short_joins++;
    pthread_barrier_wait(&round_end);
  }
  return NULL;
}

static void phase_concurrent_joiners(long rounds) {
  joiner js[JOINERS] = {{0}};
  pthread_t t[JOINERS];
  pthread_barrier_init(&round_start, NULL, JOINERS + 1);
  pthread_barrier_init(&round_end, NULL, JOINERS + 1);
  atomic_store(&stop_joiners, 0);
  for (int i = 0; i < JOINERS; i++)
    pthread_create(&t[i], NULL, joiner_thread, &js[i]);
  atomic_store(&visited, 0);
  long expected = 0, failing_rounds = 0;
  uint64_t serial = 50000000;
  for (long r = 0; r < rounds; r++) {
    bool failing = r % 3 == 0;
    failing_rounds += failing;
    for (int k = 0; k < 4; k++, serial++) {
      expected += subtree_size(root_id(serial), 0);
      VERIFY(spool_submit(ex, node_task, pack(root_id(serial), 0, failing && k == 1), NULL) ==
             SPOOL_OK);
    }
    atomic_store(&round_expected, expected);
    pthread_barrier_wait(&round_start);
    pthread_barrier_wait(&round_end);
  }
  atomic_store(&stop_joiners, 1);
  pthread_barrier_wait(&round_start);
  long short_joins = 0, errors = 0, timeouts = 0, bad = 0;
  for (int i = 0; i < JOINERS; i++) {
    pthread_join(t[i], NULL);
    short_joins += js[i].short_joins;
    errors += js[i].errors_seen;
    timeouts += js[i].timeouts;
    bad += js[i].bad_codes;
  }
  pthread_barrier_destroy(&round_start);
  pthread_barrier_destroy(&round_end);
  CHECKF(short_joins == 0, "%ld joins returned before every node ran", short_joins);
  CHECKF(timeouts == 0, "%ld joins ran into their timeout (lost wake-up)", timeouts);
  CHECKF(bad == 0, "%ld joins returned an unexpected code", bad);
  CHECKF(errors == failing_rounds, "the error was seen %ld times in %ld failing rounds", errors,
         failing_rounds);
  CHECK(spool_join(ex, 0) == SPOOL_OK);
}

/* ---- 3. Woken by an outside cancel ----------------------------------------- */

/* The interleaving under test: a task is queued (the worker has not taken
   it yet), the joiner is asleep in spool_join (checked in /proc: its thread
   is in state S), and then the task is cancelled from outside. The worker
   finished nothing since it last went idle, so it signals nobody; only the
   canceller can wake the joiner. To give the test the time it needs before
   the worker takes the task, the worker runs under SCHED_IDLE on a CPU
   shared with a busy thread of ours, so it is slow to wake (when the system
   refuses, the rounds still run, and fewer of them are decisive). A round
   is decisive when both the sleep and the cancel's win were observed. */

typedef struct cancel_race {
  spool_executor *ex;
  atomic_int phase; /* 0: wait; 1: join now; 2: stop */
  atomic_int joined;
  atomic_long tid;
  long timeouts;
} cancel_race;

static void *race_joiner(void *arg) {
  cancel_race *c = arg;
  atomic_store(&c->tid, thread_self_tid());
  for (;;) {
    int p;
    while ((p = atomic_load(&c->phase)) == 0)
      ; /* spin (state R), so that S means: asleep in spool_join */
    if (p == 2) break;
    /* a joiner left asleep returns only when its timeout fires (and then
       finds the counts settled): that is the lost wake-up */
    double t0 = now_s(), limit = 2.0 * watchdog_slowdown();
    if (spool_join(c->ex, limit) != SPOOL_OK || stress_hit_limit(t0, limit)) c->timeouts++;
    atomic_store(&c->phase, 0);
    atomic_store(&c->joined, 1);
  }
  return NULL;
}

static int count_one(void *arg, void **result) {
  (void)result;
  atomic_fetch_add((atomic_long *)arg, 1);
  return 0;
}

static void phase_cancel_wake(long rounds) {
  cancel_race c = {.timeouts = 0};
  spool_config cfg;
  spool_config_init(&cfg);
  cfg.workers = 1;
  cfg.thread_name_prefix = "jcw";
  if (!CHECK(spool_executor_create(&c.ex, &cfg) == SPOOL_OK)) return;
  thread_slowdown slow;
  bool slowed = thread_slowdown_start(&slow, thread_named("jcw-0"));
  if (!slowed) fprintf(stderr, "  (could not slow the worker down: fewer decisive rounds)\n");
  pthread_t t;
  pthread_create(&t, NULL, race_joiner, &c);
  while (!atomic_load(&c.tid))
    sched_yield();
  long decisive = 0, cancel_won = 0, inconsistent = 0, not_asleep = 0;
  atomic_long ran = 0;
  for (long r = 0; r < rounds && c.timeouts == 0; r++) {
    spool_future *q = NULL;
    long ran_before = atomic_load(&ran);
    VERIFY(spool_submit(c.ex, count_one, &ran, &q) == SPOOL_OK);
    atomic_store(&c.joined, 0);
    atomic_store(&c.phase, 1);
    /* the joiner is asleep in join (or join already returned: the worker
       ran q first) */
    double give_up = now_s() + 1.0;
    char st;
    while ((st = thread_state(atomic_load(&c.tid))) != 'S' && !atomic_load(&c.joined) &&
           now_s() < give_up)
      ;
    bool asleep = st == 'S';
    not_asleep += !asleep && !atomic_load(&c.joined);
    bool won = spool_future_cancel(q);
    cancel_won += won;
    decisive += won && asleep;
    while (!atomic_load(&c.joined))
      sched_yield();
    if (spool_future_result(q, wait_limit, NULL) != (won ? SPOOL_ECANCELLED : SPOOL_OK))
      inconsistent++;
    if (won && atomic_load(&ran) != ran_before) inconsistent++;
    spool_future_release(q);
  }
  atomic_store(&c.phase, 2);
  pthread_join(t, NULL);
  thread_slowdown_stop(&slow);
  CHECKF(c.timeouts == 0, "a joiner was not woken by the cancel of the last task (lost wake-up)");
  CHECKF(inconsistent == 0, "%ld rounds where cancel's answer and the outcome disagree",
         inconsistent);
  CHECKF(not_asleep == 0, "%ld rounds where the joiner neither slept nor returned", not_asleep);
  /* the test means something only if the interleaving happened; valgrind
     schedules threads its own way (SCHED_IDLE steering has no effect), so
     there only the memory checks count (the gcc, clang and TSan runs need
     the interleaving) */
  if (!test_under_valgrind())
    CHECKF(decisive > 0, "the interleaving under test never happened (%ld rounds, %ld cancels won)",
           rounds, cancel_won);
  fprintf(stderr, "  %ld decisive rounds (joiner asleep, cancel won) of %ld; cancel won %ld\n",
          decisive, rounds, cancel_won);
  spool_executor_destroy(c.ex);
}

int main(void) {
  wait_limit = 10.0 * watchdog_slowdown();
  spool_config c;
  spool_config_init(&c);
  c.workers = 3;
  if (!CHECK(spool_executor_create(&ex, &c) == SPOOL_OK)) return stress_report();

  stress_phase("trees from 3 threads, repeated joins", 120);
  phase_trees(stress_budget(100));
  stress_phase("concurrent joiners", 120);
  phase_concurrent_joiners(stress_budget(150));
  stress_phase("destroy", 30);
  spool_executor_destroy(ex);
  stress_phase("joiner woken by an outside cancel", 120);
  phase_cancel_wake(stress_budget(100));
  watchdog_disarm();
  return stress_report();
}
