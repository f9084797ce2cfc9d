/* Task groups: membership (inherited through spool_submit, from stolen fork
 * frames too), the scoped join, cancel, errors, destroy, and misuse. */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "child_spawn.h"
#include "suite.h"

SPOOL_SUITE(group);

static spool_executor *g_ex;
static spool_group *g_group;

/* Counts into the atomic_long at arg, after a pause for others to run. */
static int slow_count(void *arg, void **result) {
  (void)result;
  sched_yield();
  atomic_fetch_add((atomic_long *)arg, 1);
  return 0;
}

/* ---- Arguments ------------------------------------------------------------- */

Test(group, null_arguments) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  spool_group *g = (spool_group *)(uintptr_t)1;
  cr_assert_eq(spool_group_create(NULL, &g), SPOOL_EINVAL);
  cr_assert_null(g);
  cr_assert_eq(spool_group_create(ex, NULL), SPOOL_EINVAL);
  spool_future *f = (spool_future *)(uintptr_t)1;
  cr_assert_eq(spool_group_submit(NULL, task_return_arg, NULL, &f), SPOOL_EINVAL);
  cr_assert_null(f);
  cr_assert_eq(spool_group_join(NULL, SPOOL_FOREVER), SPOOL_EINVAL);
  cr_assert_eq(spool_group_cancel(NULL), SPOOL_EINVAL);
  cr_assert(!spool_group_cancelled(NULL));
  spool_group_destroy(NULL);

  cr_assert_eq(spool_group_create(ex, &g), SPOOL_OK);
  cr_assert_eq(spool_group_submit(g, NULL, NULL, &f), SPOOL_EINVAL);
  cr_assert_null(f);
  cr_assert_eq(spool_group_join(g, 0.0 / 0.0), SPOOL_EINVAL);
  cr_assert(!spool_group_cancelled(g));
  cr_assert_eq(spool_group_join(g, 0), SPOOL_OK, "an empty group is joined at once");
  spool_group_destroy(g);
  spool_executor_destroy(ex);
}

/* ---- The join waits for members and everything they submit --------------- */

static atomic_long tree_seen;

/* A node submits `arg` children with spool_submit: members by inheritance. */
static int tree_node(void *arg, void **result) {
  (void)result;
  intptr_t depth = (intptr_t)arg;
  if (depth > 0)
    for (int k = 0; k < 3; k++)
      if (spool_submit(g_ex, tree_node, (void *)(depth - 1), NULL) != SPOOL_OK) return -1;
  atomic_fetch_add(&tree_seen, 1);
  return 0;
}

Test(group, join_waits_for_every_descendant) {
  g_ex = executor_with(3);
  cr_assert_not_null(g_ex);
  cr_assert_eq(spool_group_create(g_ex, &g_group), SPOOL_OK);
  const long nodes = 1 + 3 + 9 + 27 + 81 + 243 + 729; /* depth 6 */
  for (int round = 1; round <= 5; round++) {
    cr_assert_eq(spool_group_submit(g_group, tree_node, (void *)6, NULL), SPOOL_OK);
    cr_assert_eq(spool_group_join(g_group, SPOOL_FOREVER), SPOOL_OK);
    cr_assert_eq(atomic_load(&tree_seen), nodes * round, "join returned with %ld of %ld nodes",
                 atomic_load(&tree_seen) - nodes * (round - 1), nodes);
  }
  spool_group_destroy(g_group);
  spool_executor_destroy(g_ex);
}

/* ---- Non-members do not delay it ------------------------------------------ */

/* Submits a blocker into the group named by the blocker's value. */
static int submit_into_other_group(void *arg, void **result) {
  (void)result;
  blocker *b = arg;
  return spool_group_submit(b->value, task_block, b, NULL);
}

Test(group, join_ignores_ungrouped_tasks_and_other_groups) {
  g_ex = executor_with(3); /* two held by blockers, one for the members */
  cr_assert_not_null(g_ex);
  spool_group *g1, *g2;
  cr_assert_eq(spool_group_create(g_ex, &g1), SPOOL_OK);
  cr_assert_eq(spool_group_create(g_ex, &g2), SPOOL_OK);
  blocker ungrouped, other;
  blocker_init(&ungrouped, NULL);
  blocker_init(&other, g2);
  spool_future *uf;
  cr_assert_eq(spool_submit(g_ex, task_block, &ungrouped, &uf), SPOOL_OK);
  /* A member of g1 submits into g2: that task is g2's only. */
  cr_assert_eq(spool_group_submit(g1, submit_into_other_group, &other, NULL), SPOOL_OK);
  atomic_long done;
  atomic_init(&done, 0);
  for (int i = 0; i < 100; i++)
    cr_assert_eq(spool_group_submit(g1, task_count, &done, NULL), SPOOL_OK);
  cr_assert(await_at_least(&ungrouped.started, 1, TEST_SETTLE_S));
  cr_assert(await_at_least(&other.started, 1, TEST_SETTLE_S));

  cr_assert_eq(spool_group_join(g1, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&done), 100);
  cr_assert_eq(atomic_load(&ungrouped.finished), 0);
  cr_assert_eq(atomic_load(&other.finished), 0);
  /* The others still count where they belong. */
  cr_assert_eq(spool_group_join(g2, 0), SPOOL_ETIMEDOUT);
  cr_assert_eq(spool_join(g_ex, 0), SPOOL_ETIMEDOUT);

  blocker_release(&other);
  cr_assert_eq(spool_group_join(g2, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&other.finished), 1);
  cr_assert_eq(spool_join(g_ex, 0), SPOOL_ETIMEDOUT, "the ungrouped task still runs");
  blocker_release(&ungrouped);
  cr_assert_eq(spool_join(g_ex, SPOOL_FOREVER), SPOOL_OK);
  spool_future_release(uf);
  blocker_destroy(&ungrouped);
  blocker_destroy(&other);
  spool_group_destroy(g1);
  spool_group_destroy(g2);
  spool_executor_destroy(g_ex);
}

/* ---- A stolen fork frame of a member submits members ---------------------- */

static spool_future *frame_ran; /* completed by the frame, with its worker */
static atomic_int frame_join_rc, grandchild_join_rc;
static atomic_long grandchild_ran;

/* A join from a member of the group is SPOOL_ESTATE: a probe of membership. */
static int grandchild(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_store(&grandchild_join_rc, spool_group_join(g_group, 0));
  atomic_fetch_add(&grandchild_ran, 1);
  return 0;
}

static int frame_body(void *arg, void **result) {
  (void)arg;
  (void)result;
  /* Runs on the thief: a member all the same. */
  atomic_store(&frame_join_rc, spool_group_join(g_group, 0));
  int rc = spool_submit(g_ex, grandchild, NULL, NULL);
  spool_future_set_result(frame_ran, (void *)(intptr_t)spool_current_worker());
  return rc;
}

static int member_forking(void *arg, void **result) {
  (void)arg;
  int me = spool_current_worker(); /* the sync may move us to the thief */
  spool_task t;
  spool_fork(&t, frame_body, NULL);
  /* Blocks this worker's thread (publishing the frame first), so the
     other worker steals the frame. */
  void *thief = NULL;
  int rc = spool_future_result(frame_ran, SPOOL_FOREVER, &thief);
  int frc = spool_sync(&t, NULL);
  *result = (void *)((intptr_t)thief - me);
  return rc ? rc : frc;
}

Test(group, a_stolen_frame_of_a_member_submits_members) {
  g_ex = executor_with(2);
  cr_assert_not_null(g_ex);
  cr_assert_eq(spool_group_create(g_ex, &g_group), SPOOL_OK);
  cr_assert_eq(spool_future_create(&frame_ran), SPOOL_OK);
  spool_future *m;
  cr_assert_eq(spool_group_submit(g_group, member_forking, NULL, &m), SPOOL_OK);
  void *delta = NULL;
  cr_assert_eq(spool_future_result(m, SPOOL_FOREVER, &delta), SPOOL_OK);
  cr_assert_neq((intptr_t)delta, 0, "the frame ran on the member's own worker, not stolen");
  cr_assert_eq(atomic_load(&frame_join_rc), SPOOL_ESTATE, "a member's frame joins its group");

  /* The grandchild, submitted by the stolen frame, is a member: the join
     waits for it, and it sees itself as one. */
  cr_assert_eq(spool_group_join(g_group, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&grandchild_ran), 1);
  cr_assert_eq(atomic_load(&grandchild_join_rc), SPOOL_ESTATE);

  spool_future_release(m);
  spool_future_release(frame_ran);
  spool_group_destroy(g_group);
  spool_executor_destroy(g_ex);
}

/* ---- Joins from inside tasks ----------------------------------------------- */

static atomic_long leaf_count;

static int leaf(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_fetch_add(&leaf_count, 1);
  return 0;
}

/* Not a member: fills the group, then joins it from inside the task. */
static int fill_and_join(void *arg, void **result) {
  (void)result;
  spool_group *g = arg;
  for (int i = 0; i < 1000; i++)
    if (spool_group_submit(g, leaf, NULL, NULL) != SPOOL_OK) return -1;
  int rc = spool_group_join(g, SPOOL_FOREVER);
  if (rc) return rc;
  return atomic_load(&leaf_count) == 1000 ? 0 : -2;
}

/* On one worker the members are queued behind the joiner: the join frees
   the worker instead of waiting on it. */
Test(group, a_join_inside_a_task_waits_cooperatively_on_one_worker) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_group *g;
  cr_assert_eq(spool_group_create(g_ex, &g), SPOOL_OK);
  spool_stats before, after;
  cr_assert_eq(spool_stats_read(g_ex, -1, &before), SPOOL_OK);
  cr_assert_eq(spool_run(g_ex, fill_and_join, g, NULL), SPOOL_OK);
  cr_assert_eq(spool_stats_read(g_ex, -1, &after), SPOOL_OK);
  cr_assert_gt(after.suspends, before.suspends, "the joining task was not suspended");
  spool_group_destroy(g);
  spool_executor_destroy(g_ex);
}

/* A finite timeout inside a task: the join blocks its thread, while the
   other worker runs the members (or they stay blocked: a timeout). */
static int join_with_timeout(void *arg, void **result) {
  (void)result;
  return spool_group_join(arg, 10.0);
}

/* Gives the join's code as the result (a task's own reserved code would
   not pass through spool_run unchanged everywhere). */
static int join_briefly(void *arg, void **result) {
  *result = (void *)(intptr_t)spool_group_join(arg, 0.05);
  return 0;
}

typedef struct submit_then_join {
  spool_group *g;
  atomic_long n;
} submit_then_join;

/* Members queued on this task's own deque, behind it; then a timed join. */
static int submit_and_join_within_ten_seconds(void *arg, void **result) {
  submit_then_join *sj = arg;
  for (int i = 0; i < 50; i++)
    if (spool_group_submit(sj->g, slow_count, &sj->n, NULL) != SPOOL_OK) return -1;
  *result = (void *)(intptr_t)spool_group_join(sj->g, 10.0);
  return 0;
}

Test(group, a_join_inside_a_task_with_a_timeout) {
  g_ex = executor_with(2);
  cr_assert_not_null(g_ex);
  spool_group *g;
  cr_assert_eq(spool_group_create(g_ex, &g), SPOOL_OK);
  atomic_long n;
  atomic_init(&n, 0);
  for (int i = 0; i < 500; i++)
    cr_assert_eq(spool_group_submit(g, slow_count, &n, NULL), SPOOL_OK);
  cr_assert_eq(spool_run(g_ex, join_with_timeout, g, NULL), SPOOL_OK);
  cr_assert_eq(atomic_load(&n), 500);

  blocker b;
  blocker_init(&b, NULL);
  cr_assert_eq(spool_group_submit(g, task_block, &b, NULL), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S));
  void *rc = NULL;
  cr_assert_eq(spool_run(g_ex, join_briefly, g, &rc), SPOOL_OK);
  cr_assert_eq((intptr_t)rc, SPOOL_ETIMEDOUT);
  blocker_release(&b);
  cr_assert_eq(spool_group_join(g, SPOOL_FOREVER), SPOOL_OK);
  blocker_destroy(&b);
  spool_group_destroy(g);
  spool_executor_destroy(g_ex);
}

/* On ONE worker: a join with a finite timeout inside a task must free the
   worker, or the members queued behind it never run and it times out. */
Test(group, a_timed_join_inside_a_task_frees_the_worker_on_one_worker) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_group *g;
  cr_assert_eq(spool_group_create(g_ex, &g), SPOOL_OK);
  submit_then_join sj = {.g = g};
  atomic_init(&sj.n, 0);
  void *rc = (void *)(intptr_t)-1;
  cr_assert_eq(spool_run(g_ex, submit_and_join_within_ten_seconds, &sj, &rc), SPOOL_OK);
  cr_assert_eq((intptr_t)rc, SPOOL_OK, "join returned %d", (int)(intptr_t)rc);
  cr_assert_eq(atomic_load(&sj.n), 50);
  spool_stats st;
  cr_assert_eq(spool_stats_read(g_ex, -1, &st), SPOOL_OK);
  cr_assert_gt(st.suspends, 0u, "the joining task was suspended");
  spool_group_destroy(g);
  spool_executor_destroy(g_ex);
}

static int join_own_group(void *arg, void **result) {
  (void)result;
  int a = spool_group_join(arg, SPOOL_FOREVER);
  int b = spool_group_join(arg, 0);
  return a == SPOOL_ESTATE && b == SPOOL_ESTATE ? 0 : -1;
}

/* A member of a member (inherited) too. */
static int submit_join_own_group(void *arg, void **result) {
  (void)result;
  spool_future *f;
  int rc = spool_submit(g_ex, join_own_group, arg, &f);
  if (rc) return rc;
  rc = spool_future_result(f, SPOOL_FOREVER, NULL);
  spool_future_release(f);
  return rc;
}

Test(group, a_join_from_a_member_is_estate) {
  g_ex = executor_with(2);
  cr_assert_not_null(g_ex);
  spool_group *g;
  cr_assert_eq(spool_group_create(g_ex, &g), SPOOL_OK);
  spool_future *f1, *f2;
  cr_assert_eq(spool_group_submit(g, join_own_group, g, &f1), SPOOL_OK);
  cr_assert_eq(spool_group_submit(g, submit_join_own_group, g, &f2), SPOOL_OK);
  cr_assert_eq(spool_future_result(f1, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(spool_future_result(f2, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(spool_group_join(g, SPOOL_FOREVER), SPOOL_OK);
  spool_future_release(f1);
  spool_future_release(f2);
  spool_group_destroy(g);
  spool_executor_destroy(g_ex);
}

/* ---- Cancel ----------------------------------------------------------------- */

Test(group, cancel_cancels_every_queued_member_before_it_returns) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_group *g;
  cr_assert_eq(spool_group_create(g_ex, &g), SPOOL_OK);
  /* The only worker is held, so everything below stays queued. */
  blocker hold;
  blocker_init(&hold, NULL);
  spool_future *hf;
  cr_assert_eq(spool_submit(g_ex, task_block, &hold, &hf), SPOOL_OK);
  cr_assert(await_at_least(&hold.started, 1, TEST_SETTLE_S));

  enum { N = 50 };
  atomic_long ran, other_ran;
  atomic_init(&ran, 0);
  atomic_init(&other_ran, 0);
  spool_future *fs[N], *of;
  for (int i = 0; i < N; i++) {
    cr_assert_eq(spool_group_submit(g, task_count, &ran, &fs[i]), SPOOL_OK);
    cr_assert_eq(spool_group_submit(g, task_count, &ran, NULL), SPOOL_OK);
  }
  cr_assert_eq(spool_submit(g_ex, task_count, &other_ran, &of), SPOOL_OK);
  spool_stats before, after;
  cr_assert_eq(spool_stats_read(g_ex, -1, &before), SPOOL_OK);

  cr_assert_eq(spool_group_cancel(g), SPOOL_OK);
  cr_assert(spool_group_cancelled(g));
  for (int i = 0; i < N; i++)
    cr_assert(spool_future_cancelled(fs[i]), "member %d not cancelled by the time cancel returned",
              i);
  cr_assert(!spool_future_done(of), "a task outside the group was touched");
  cr_assert_eq(spool_stats_read(g_ex, -1, &after), SPOOL_OK);
  cr_assert_eq(after.cancelled - before.cancelled, 2 * N, "cancelled %llu",
               (unsigned long long)(after.cancelled - before.cancelled));
  /* Later submits are refused, from anywhere. */
  spool_future *late = (spool_future *)(uintptr_t)1;
  cr_assert_eq(spool_group_submit(g, task_count, &ran, &late), SPOOL_ECANCELLED);
  cr_assert_null(late);
  cr_assert_eq(spool_group_cancel(g), SPOOL_OK, "idempotent");

  cr_assert_eq(spool_group_join(g, SPOOL_FOREVER), SPOOL_OK, "cancelling is not an error");
  blocker_release(&hold);
  cr_assert_eq(spool_future_result(of, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(spool_join(g_ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&ran), 0);
  cr_assert_eq(atomic_load(&other_ran), 1);
  for (int i = 0; i < N; i++)
    spool_future_release(fs[i]);
  spool_future_release(of);
  spool_future_release(hf);
  blocker_destroy(&hold);
  spool_group_destroy(g);
  spool_executor_destroy(g_ex);
}

static blocker running_member;
static atomic_int submit_after_cancel_rc, saw_cancelled;

static int member_that_submits_after_cancel(void *arg, void **result) {
  int rc = task_block(&running_member, result);
  atomic_store(&saw_cancelled, spool_group_cancelled(arg));
  spool_future *f = (spool_future *)(uintptr_t)1;
  atomic_store(&submit_after_cancel_rc, spool_submit(g_ex, task_count, &leaf_count, &f));
  if (f) return -1; /* *out must be NULL */
  return rc;
}

Test(group, running_members_go_on_and_their_submits_are_refused) {
  g_ex = executor_with(2);
  cr_assert_not_null(g_ex);
  spool_group *g;
  cr_assert_eq(spool_group_create(g_ex, &g), SPOOL_OK);
  blocker_init(&running_member, NULL);
  spool_future *f;
  cr_assert_eq(spool_group_submit(g, member_that_submits_after_cancel, g, &f), SPOOL_OK);
  cr_assert(await_at_least(&running_member.started, 1, TEST_SETTLE_S));
  cr_assert_eq(spool_group_cancel(g), SPOOL_OK);
  cr_assert(!spool_future_cancelled(f));
  blocker_release(&running_member);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK, "the member ran to its end");
  cr_assert(atomic_load(&saw_cancelled));
  cr_assert_eq(atomic_load(&submit_after_cancel_rc), SPOOL_ECANCELLED);
  cr_assert_eq(spool_group_join(g, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&leaf_count), 0);
  spool_future_release(f);
  blocker_destroy(&running_member);
  spool_group_destroy(g);
  spool_executor_destroy(g_ex);
}

/* ---- Errors ----------------------------------------------------------------- */

Test(group, a_fire_and_forget_error_is_kept_for_both_joins) {
  g_ex = executor_with(2);
  cr_assert_not_null(g_ex);
  spool_group *g;
  cr_assert_eq(spool_group_create(g_ex, &g), SPOOL_OK);
  blocker b;
  blocker_init(&b, NULL);
  cr_assert_eq(spool_group_submit(g, task_return_code, (void *)(intptr_t)42, NULL), SPOOL_OK);
  cr_assert_eq(spool_group_submit(g, task_block, &b, NULL), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S));
  /* A join that times out leaves the error. */
  cr_assert_eq(spool_group_join(g, 0.05), SPOOL_ETIMEDOUT);
  blocker_release(&b);
  cr_assert_eq(spool_group_join(g, SPOOL_FOREVER), 42);
  cr_assert_eq(spool_group_join(g, SPOOL_FOREVER), SPOOL_OK, "taken by the previous join");
  cr_assert_eq(spool_join(g_ex, SPOOL_FOREVER), 42, "spool_join keeps its own copy");
  cr_assert_eq(spool_join(g_ex, SPOOL_FOREVER), SPOOL_OK);

  /* A member with a future keeps its error in the future only. */
  spool_future *f;
  cr_assert_eq(spool_group_submit(g, task_return_code, (void *)(intptr_t)7, &f), SPOOL_OK);
  cr_assert_eq(spool_group_join(g, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(spool_future_exception(f, 0), 7);
  spool_future_release(f);
  blocker_destroy(&b);
  spool_group_destroy(g);
  spool_executor_destroy(g_ex);
}

/* ---- Destroy ---------------------------------------------------------------- */

Test(group, destroy_waits_for_members_and_their_futures_stay_valid) {
  g_ex = executor_with(2);
  cr_assert_not_null(g_ex);
  spool_group *g;
  cr_assert_eq(spool_group_create(g_ex, &g), SPOOL_OK);
  atomic_long n;
  atomic_init(&n, 0);
  spool_future *f;
  cr_assert_eq(spool_group_submit(g, task_return_arg, (void *)(uintptr_t)5, &f), SPOOL_OK);
  for (int i = 0; i < 2000; i++)
    cr_assert_eq(spool_group_submit(g, slow_count, &n, NULL), SPOOL_OK);
  spool_group_destroy(g);
  cr_assert_eq(atomic_load(&n), 2000);
  void *r = NULL;
  cr_assert_eq(spool_future_result(f, 0, &r), SPOOL_OK);
  cr_assert_eq((uintptr_t)r, 5);
  spool_future_release(f);
  /* Slots are reused: a new group starts empty and uncancelled. */
  cr_assert_eq(spool_group_create(g_ex, &g), SPOOL_OK);
  cr_assert(!spool_group_cancelled(g));
  cr_assert_eq(spool_group_join(g, 0), SPOOL_OK);
  spool_group_destroy(g);
  spool_executor_destroy(g_ex);
}

Test(group, submit_after_shutdown_is_eshutdown) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_group *g;
  cr_assert_eq(spool_group_create(g_ex, &g), SPOOL_OK);
  cr_assert_eq(spool_shutdown(g_ex, true, false), SPOOL_OK);
  spool_future *f = (spool_future *)(uintptr_t)1;
  cr_assert_eq(spool_group_submit(g, task_count, &leaf_count, &f), SPOOL_ESHUTDOWN);
  cr_assert_null(f);
  cr_assert_eq(spool_group_join(g, SPOOL_FOREVER), SPOOL_OK);
  spool_executor_destroy(g_ex);
  spool_group_destroy(g); /* allowed after the executor is gone */
}

/* A cancelled group says so, after a shutdown too (the fuzzer found
   SPOOL_ESHUTDOWN there). */
Test(group, submit_to_a_cancelled_group_after_shutdown_is_ecancelled) {
  g_ex = executor_with(1);
  cr_assert_not_null(g_ex);
  spool_group *g;
  cr_assert_eq(spool_group_create(g_ex, &g), SPOOL_OK);
  cr_assert_eq(spool_group_cancel(g), SPOOL_OK);
  cr_assert_eq(spool_shutdown(g_ex, true, false), SPOOL_OK);
  spool_future *f = (spool_future *)(uintptr_t)1;
  cr_assert_eq(spool_group_submit(g, task_count, &leaf_count, &f), SPOOL_ECANCELLED);
  cr_assert_null(f);
  spool_group_destroy(g);
  spool_executor_destroy(g_ex);
}

/* Destroying a group from one of its members prints one line naming the
   problem and aborts (in a child program, whose stderr is checked; started
   with posix_spawn, so the test runs under the sanitizers too). */
static void assert_child_aborts_naming_destroy(const char *mode) {
  const char *args[] = {mode, NULL};
  int status = 0;
  char buf[1024];
  cr_assert(spawn_child_helper(args, &status, buf, sizeof buf), "cannot run the child helper");
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
            "%s: the child was not aborted (status %#x); stderr: %s", mode, status, buf);
  cr_assert_not_null(strstr(buf, "spool_group_destroy"), "stderr: %s", buf);
  char *nl = strchr(buf, '\n');
  cr_assert(nl && nl[1] == '\0', "not exactly one line: %s", buf);
}

Test(group, destroy_from_a_member_aborts_with_a_message) {
  assert_child_aborts_naming_destroy("destroy-group-member");
}

/* A second destroy used to put the slot on the free list twice: every
   later spool_group_create() of the process returned the same group. */
Test(group, destroying_twice_aborts_with_a_message) {
  assert_child_aborts_naming_destroy("destroy-group-twice");
}
