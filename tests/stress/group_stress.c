/* Task groups under contention: no member lost by a group's join, no
 * wake-up lost, every task counted exactly once, cancel racing with submits.
 *
 * 1. Joins racing with members that spawn: per group, a submitter thread
 *    submits trees (each node submits its children with spool_submit, one
 *    of them from a fork frame, which a thief may run); joiner threads join
 *    the groups from outside and from inside tasks (cooperatively). A join
 *    that returns must have seen every node of every tree submitted before
 *    it started; at the end each group saw exactly its nodes (count and
 *    checksum), and ungrouped noise tasks ran exactly once.
 * 2. Cancel racing with submits: threads submit members (with futures and
 *    fire-and-forget; members submit children) while the main thread
 *    cancels. Each accepted task either ran or was cancelled, exactly once
 *    (ran + stats.cancelled == accepted); a submit begun after the cancel
 *    returned is refused; after the join every member future is done.
 * 3. Destroy right after submitting: destroy waits for every descendant,
 *    and slots are reused across many groups.
 *
 * A join that waits as long as its bound fails loudly (a lost wake-up).
 * SPOOL_STRESS_SCALE multiplies the rounds. */
#include <pthread.h>

#include "stress.h"

static spool_executor *ex;
static double wait_limit;

static uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

/* ---- Trees ---------------------------------------------------------------- */

#define GROUPS    3
#define MAX_DEPTH 7

typedef struct group_book {
  spool_group *g;
  atomic_long seen;       /* nodes run */
  atomic_ullong seen_sum; /* sum of mix(id) of the nodes run */
  atomic_long submitted;  /* nodes of the trees whose submit returned */
  atomic_ullong submitted_sum;
} group_book;

static group_book books[GROUPS];

static unsigned children_of(uint64_t id, unsigned depth) {
  if (depth >= MAX_DEPTH) return 0;
  if (depth < 2) return 3;
  return (unsigned)(mix(id) % 4); /* mean 1.5 */
}

static void subtree(uint64_t id, unsigned depth, long *n, uint64_t *sum) {
  *n += 1;
  *sum += mix(id);
  for (unsigned k = 0; k < children_of(id, depth); k++)
    subtree(id * 4 + k + 1, depth + 1, n, sum);
}

/* (id, depth, book) packed into a task argument. */
static void *pack(uint64_t id, unsigned depth, unsigned book) {
  return (void *)(uintptr_t)((id << 6) | ((uint64_t)book << 4) | depth);
}

static int tree_node(void *arg, void **result);

typedef struct frame_arg {
  uint64_t id;
  unsigned depth, book;
} frame_arg;

/* A node's first child is submitted from a fork frame of the node. */
static int submit_from_frame(void *arg, void **result) {
  (void)result;
  frame_arg *a = arg;
  return spool_submit(ex, tree_node, pack(a->id, a->depth, a->book), NULL);
}

static int tree_node(void *arg, void **result) {
  (void)result;
  uintptr_t p = (uintptr_t)arg;
  uint64_t id = p >> 6;
  unsigned depth = (unsigned)(p & 15), book = (unsigned)((p >> 4) & 3);
  unsigned n = children_of(id, depth);
  int rc = 0;
  if (n > 0) {
    spool_task t;
    frame_arg a = {id * 4 + 1, depth + 1, book};
    spool_fork(&t, submit_from_frame, &a);
    for (unsigned k = 1; k < n; k++)
      if (!VERIFY(spool_submit(ex, tree_node, pack(id * 4 + k + 1, depth + 1, book), NULL) ==
                  SPOOL_OK))
        rc = -1;
    if (!VERIFY(spool_sync(&t, NULL) == SPOOL_OK)) rc = -1;
  }
  atomic_fetch_add_explicit(&books[book].seen_sum, mix(id), memory_order_relaxed);
  atomic_fetch_add_explicit(&books[book].seen, 1, memory_order_relaxed);
  return rc;
}

/* ---- 1. Joins racing with spawning members -------------------------------- */

static atomic_int submitters_running;
static atomic_long noise_ran;

static int noise(void *arg, void **result) {
  (void)arg;
  (void)result;
  for (volatile int i = 0; i < 200; i++) {
  }
  atomic_fetch_add_explicit(&noise_ran, 1, memory_order_relaxed);
  return 0;
}

typedef struct submitter {
  unsigned book;
  long trees;
  long noise;
} submitter;

static void *submit_trees(void *arg) {
  submitter *s = arg;
  group_book *b = &books[s->book];
  for (long t = 0; t < s->trees; t++) {
    uint64_t id = ((uint64_t)s->book << 40) + (uint64_t)t * 977 + 1;
    long n = 0;
    uint64_t sum = 0;
    subtree(id, 0, &n, &sum);
    VERIFY(spool_group_submit(b->g, tree_node, pack(id, 0, s->book), NULL) == SPOOL_OK);
    atomic_fetch_add(&b->submitted_sum, sum);
    atomic_fetch_add(&b->submitted, n);
    VERIFY(spool_submit(ex, noise, NULL, NULL) == SPOOL_OK);
    s->noise++;
  }
  atomic_fetch_sub(&submitters_running, 1);
  return NULL;
}

/* Checks a join of book b: everything submitted before it started was
   seen. Returns the join's code. */
static int checked_join(group_book *b, bool *hit_limit) {
  long before = atomic_load(&b->submitted);
  double t0 = now_s();
  int rc = spool_group_join(b->g, wait_limit);
  if (stress_hit_limit(t0, wait_limit)) *hit_limit = true;
  if (rc == SPOOL_OK) {
    long seen = atomic_load(&b->seen);
    VERIFYF(seen >= before, "join returned having seen %ld nodes of %ld", seen, before);
  }
  return rc;
}

static int join_in_task(void *arg, void **result) {
  (void)result;
  bool hit = false;
  int rc = checked_join(arg, &hit);
  VERIFYF(!hit, "a join inside a task waited for its whole bound");
  return rc;
}

static atomic_long joins_done;

static void *joiner(void *arg) {
  uint64_t rng = (uintptr_t)arg * 7919 + 1;
  do { /* at least once, even if the submitters are done already */
    group_book *b = &books[stress_rand(&rng) % GROUPS];
    int rc;
    if (stress_rand(&rng) & 1) {
      bool hit = false;
      rc = checked_join(b, &hit);
      VERIFYF(!hit, "a join waited for its whole bound");
    } else {
      /* SPOOL_FOREVER inside the task: cooperative. */
      rc = spool_run(ex, join_in_task, b, NULL);
    }
    VERIFYF(rc == SPOOL_OK, "join: %d", rc);
    atomic_fetch_add(&joins_done, 1);
  } while (atomic_load(&submitters_running) > 0);
  return NULL;
}

static void phase_joins(void) {
  stress_phase("joins racing with members that spawn", 240);
  for (unsigned i = 0; i < GROUPS; i++) {
    CHECK(spool_group_create(ex, &books[i].g) == SPOOL_OK);
    atomic_init(&books[i].seen, 0);
    atomic_init(&books[i].seen_sum, 0);
    atomic_init(&books[i].submitted, 0);
    atomic_init(&books[i].submitted_sum, 0);
  }
  submitter subs[GROUPS];
  pthread_t st[GROUPS], jt[2];
  atomic_store(&submitters_running, GROUPS);
  for (unsigned i = 0; i < GROUPS; i++) {
    subs[i] = (submitter){i, stress_budget(400), 0};
    pthread_create(&st[i], NULL, submit_trees, &subs[i]);
  }
  for (unsigned j = 0; j < 2; j++)
    pthread_create(&jt[j], NULL, joiner, (void *)(uintptr_t)(j + 1));
  for (unsigned i = 0; i < GROUPS; i++)
    pthread_join(st[i], NULL);
  for (unsigned j = 0; j < 2; j++)
    pthread_join(jt[j], NULL);
  long noise_expected = 0;
  for (unsigned i = 0; i < GROUPS; i++) {
    group_book *b = &books[i];
    bool hit = false;
    CHECK(checked_join(b, &hit) == SPOOL_OK);
    CHECK(!hit);
    CHECKF(atomic_load(&b->seen) == atomic_load(&b->submitted), "group %u: %ld nodes run of %ld", i,
           atomic_load(&b->seen), atomic_load(&b->submitted));
    CHECK(atomic_load(&b->seen_sum) == atomic_load(&b->submitted_sum));
    noise_expected += subs[i].noise;
    spool_group_destroy(b->g);
  }
  CHECK(spool_join(ex, wait_limit) == SPOOL_OK);
  CHECK(atomic_load(&noise_ran) == noise_expected);
  CHECK(atomic_load(&joins_done) >= 2);
}

/* ---- 2. Cancel racing with submits ---------------------------------------- */

static spool_group *cancel_group;
static atomic_int cancel_returned;
static atomic_long ran, accepted, refused;

/* A member: runs once; half submit a child (inherited: refused once
   cancelled). */
static int member(void *arg, void **result) {
  (void)result;
  atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
  if ((uintptr_t)arg & 1) {
    int rc = spool_submit(ex, member, (void *)0, NULL);
    if (rc == SPOOL_OK)
      atomic_fetch_add(&accepted, 1);
    else if (VERIFYF(rc == SPOOL_ECANCELLED, "child submit: %d", rc))
      atomic_fetch_add(&refused, 1);
  }
  return 0;
}

typedef struct cancel_submitter {
  long n;
  spool_future **fs; /* n entries, NULL where fire-and-forget or refused */
} cancel_submitter;

static void *submit_members(void *arg) {
  cancel_submitter *s = arg;
  for (long i = 0; i < s->n; i++) {
    bool after_cancel = atomic_load(&cancel_returned);
    spool_future **out = (i & 2) ? &s->fs[i] : NULL;
    s->fs[i] = NULL;
    int rc = spool_group_submit(cancel_group, member, (void *)(uintptr_t)i, out);
    if (rc == SPOOL_OK) {
      VERIFYF(!after_cancel, "a submit begun after the cancel returned was accepted");
      atomic_fetch_add(&accepted, 1);
    } else {
      VERIFYF(rc == SPOOL_ECANCELLED, "submit: %d", rc);
      VERIFY(!out || !*out);
      atomic_fetch_add(&refused, 1);
    }
  }
  return NULL;
}

static uint64_t total_cancelled(void) {
  spool_stats st;
  spool_stats_read(ex, -1, &st);
  return st.cancelled;
}

static void phase_cancel(void) {
  stress_phase("cancel racing with submits", 240);
  long rounds = stress_budget(40), per_thread = 400;
  uint64_t rng = 12345;
  for (long r = 0; r < rounds; r++) {
    CHECK(spool_group_create(ex, &cancel_group) == SPOOL_OK);
    atomic_store(&cancel_returned, 0);
    atomic_store(&ran, 0);
    atomic_store(&accepted, 0);
    atomic_store(&refused, 0);
    uint64_t cancelled_before = total_cancelled();
    cancel_submitter subs[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
      subs[i].n = per_thread;
      subs[i].fs = calloc((size_t)per_thread, sizeof *subs[i].fs);
      pthread_create(&t[i], NULL, submit_members, &subs[i]);
    }
    /* Cancel somewhere in the middle of the submissions. */
    for (volatile uint64_t spin = stress_rand(&rng) % 200000; spin > 0; spin--) {
    }
    CHECK(spool_group_cancel(cancel_group) == SPOOL_OK);
    atomic_store(&cancel_returned, 1);
    for (int i = 0; i < 2; i++)
      pthread_join(t[i], NULL);
    double t0 = now_s();
    CHECK(spool_group_join(cancel_group, wait_limit) == SPOOL_OK);
    CHECK(!stress_hit_limit(t0, wait_limit));
    long cancelled = (long)(total_cancelled() - cancelled_before);
    CHECKF(atomic_load(&ran) + cancelled == atomic_load(&accepted),
           "round %ld: ran %ld + cancelled %ld != accepted %ld", r, atomic_load(&ran), cancelled,
           atomic_load(&accepted));
    CHECK(atomic_load(&accepted) + atomic_load(&refused) >= 2 * per_thread);
    for (int i = 0; i < 2; i++) {
      for (long k = 0; k < per_thread; k++) {
        if (!subs[i].fs[k]) continue;
        VERIFY(spool_future_done(subs[i].fs[k]));
        int e = spool_future_exception(subs[i].fs[k], 0);
        VERIFYF(e == SPOOL_OK || e == SPOOL_ECANCELLED, "member future: %d", e);
        spool_future_release(subs[i].fs[k]);
      }
      free(subs[i].fs);
    }
    spool_group_destroy(cancel_group);
  }
  CHECK(spool_join(ex, wait_limit) == SPOOL_OK);
}

/* ---- 3. Destroy right after submitting ------------------------------------ */

static void phase_destroy(void) {
  stress_phase("destroy waits for every descendant", 240);
  long rounds = stress_budget(200);
  for (long r = 0; r < rounds; r++) {
    group_book *b = &books[r % GROUPS];
    CHECK(spool_group_create(ex, &b->g) == SPOOL_OK);
    atomic_store(&b->seen, 0);
    long n = 0;
    uint64_t sum = 0;
    uint64_t id = (uint64_t)r * 31 + 7;
    subtree(id, 2, &n, &sum);
    CHECK(spool_group_submit(b->g, tree_node, pack(id, 2, (unsigned)(r % GROUPS)), NULL) ==
          SPOOL_OK);
    spool_group_destroy(b->g);
    CHECKF(atomic_load(&b->seen) == n, "destroy returned with %ld of %ld nodes run",
           atomic_load(&b->seen), n);
  }
}

int main(void) {
  watchdog_arm(900, "group_stress");
  wait_limit = test_under_valgrind() ? 120.0 : 60.0;
  spool_config c;
  spool_config_init(&c);
  c.workers = 3;
  if (spool_executor_create(&ex, &c) != SPOOL_OK) {
    fprintf(stderr, "cannot create the executor\n");
    return 1;
  }
  phase_joins();
  phase_cancel();
  phase_destroy();
  spool_executor_destroy(ex);
  return stress_report();
}
