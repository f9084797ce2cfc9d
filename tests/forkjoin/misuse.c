/* Misuse of fork-join, each case in a forked child whose stderr is captured
 * (spool.h, spool_sync: frames are synced in the reverse order of their
 * forks, and every frame before its task returns).
 *
 * 1. Out-of-order sync: a task forks A then B and syncs A first. Builds
 *    with debug checks (NDEBUG undefined, as the library is built here)
 *    abort with one line naming the misuse; release builds return the right
 *    outcome for both frames.
 * 2. A task that returns with a frame unsynced: debug builds abort with one
 *    line naming it (release builds: undefined behaviour, not run).
 *
 * 3. Both again with typed frames (SPOOL_FORK / SPOOL_SYNC).
 * 4. A frame synced twice, untyped and typed: debug builds abort with one
 *    line naming it, and so do release builds when the sync goes through
 *    the library (the out-of-line build); a release build's inline take
 *    leaves no mark, and the second sync may wait for ever (not run). It
 *    used to wait for ever in every build.
 *
 * Built twice (meson.build): with spool.h's inline fork-join fast path and
 * with SPOOL_NO_INLINE, so the frames the inline path writes carry what the
 * library's checks read. */
#include "harness.h"

#ifdef NDEBUG
#define DEBUG_CHECKS 0
#else
#define DEBUG_CHECKS 1
#endif

static int leaf(void *arg, void **result) {
  *result = arg;
  return (intptr_t)arg == 3 ? 7 : 0; /* B fails with code 7 */
}

static int out_of_order(void *arg, void **result) {
  (void)arg;
  spool_task a, b;
  spool_fork(&a, leaf, HARNESS_PTR(2));
  spool_fork(&b, leaf, HARNESS_PTR(3));
  void *ra = NULL, *rb = HARNESS_PTR(99);
  int ca = spool_sync(&a, &ra); /* misuse: b was forked after a */
  int cb = spool_sync(&b, &rb);
  *result = HARNESS_PTR(ca == 0 && ra == HARNESS_PTR(2) && cb == 7 && rb == NULL);
  return 0;
}

static int leaves_frame(void *arg, void **result) {
  (void)arg;
  (void)result;
  static spool_task kept; /* static, so the misuse is not also a dangling frame */
  spool_fork(&kept, leaf, HARNESS_PTR(1));
  return 0;
}

/* The same with typed frames (spool.h, SPOOL_FORKABLE): the library's
   checks see them as they see spool_task frames. */
static long typed_leaf(long x);
SPOOL_FORKABLE(long, typed_leaf, long);
static long typed_leaf(long x) {
  return x + 1;
}

static int typed_out_of_order(void *arg, void **result) {
  (void)arg;
  spool_frame(typed_leaf) a, b;
  SPOOL_FORK(&a, typed_leaf, 1);
  SPOOL_FORK(&b, typed_leaf, 2);
  long ra = SPOOL_SYNC(&a, typed_leaf); /* misuse: b was forked after a */
  long rb = SPOOL_SYNC(&b, typed_leaf);
  *result = HARNESS_PTR(ra == 2 && rb == 3);
  return 0;
}

static int typed_leaves_frame(void *arg, void **result) {
  (void)arg;
  (void)result;
  static spool_frame(typed_leaf) kept;
  SPOOL_FORK(&kept, typed_leaf, 1);
  return 0;
}

static int syncs_twice(void *arg, void **result) {
  (void)arg;
  spool_task t;
  void *r = NULL;
  spool_fork(&t, leaf, HARNESS_PTR(2));
  int first = spool_sync(&t, &r);
  (void)spool_sync(&t, &r); /* misuse: the frame was synced already */
  *result = HARNESS_PTR(first == 0);
  return 0;
}

static int typed_syncs_twice(void *arg, void **result) {
  (void)arg;
  spool_frame(typed_leaf) f;
  SPOOL_FORK(&f, typed_leaf, 1);
  long first = SPOOL_SYNC(&f, typed_leaf);
  (void)SPOOL_SYNC(&f, typed_leaf); /* misuse */
  *result = HARNESS_PTR(first == 2);
  return 0;
}

static void run_on_one_worker(spool_fn fn) {
  spool_config c;
  spool_config_init(&c);
  c.workers = 1;
  spool_executor *ex = NULL;
  if (spool_executor_create(&ex, &c) != SPOOL_OK) _exit(2);
  void *ok = NULL;
  if (spool_run(ex, fn, NULL, &ok) != SPOOL_OK) _exit(3);
  if (ok != HARNESS_PTR(1)) _exit(4);
  spool_executor_destroy(ex);
  _exit(0);
}

static void child_out_of_order(void) {
  run_on_one_worker(out_of_order);
}

static void child_leaves_frame(void) {
  run_on_one_worker(leaves_frame);
}

static void child_typed_out_of_order(void) {
  run_on_one_worker(typed_out_of_order);
}

static void child_typed_leaves_frame(void) {
  run_on_one_worker(typed_leaves_frame);
}

static void child_syncs_twice(void) {
  run_on_one_worker(syncs_twice);
}

static void child_typed_syncs_twice(void) {
  run_on_one_worker(typed_syncs_twice);
}

static void expect_abort(void (*body)(void), const char *message) {
  child_outcome out;
  if (!harness_run_child(body, &out)) return;
  bool aborted = WIFSIGNALED(out.status) && WTERMSIG(out.status) == SIGABRT;
  bool named = strstr(out.err, message) != NULL;
  if (!CHECK(aborted) || !CHECK(named))
    fprintf(stderr, "child status %#x, stderr:\n%s\n", out.status, out.err);
}

int main(void) {
  harness_print_fork_join_path();
  if (DEBUG_CHECKS) {
    harness_phase("out-of-order sync aborts (debug build)");
    expect_abort(child_out_of_order, "spool_sync() out of order");
    harness_phase("a task returning with a frame unsynced aborts (debug build)");
    expect_abort(child_leaves_frame, "without calling spool_sync()");
    harness_phase("typed frames: out-of-order sync aborts (debug build)");
    expect_abort(child_typed_out_of_order, "spool_sync() out of order");
    harness_phase("typed frames: a task returning with a frame unsynced aborts (debug build)");
    expect_abort(child_typed_leaves_frame, "without calling spool_sync()");
    harness_phase("a frame synced twice aborts (debug build)");
    expect_abort(child_syncs_twice, "spool_sync() called twice");
    harness_phase("typed frames: a frame synced twice aborts (debug build)");
    expect_abort(child_typed_syncs_twice, "spool_sync() called twice");
  } else {
    harness_phase("out-of-order sync returns the right outcomes (release build)");
    harness_child_succeeds(child_out_of_order);
    harness_child_succeeds(child_typed_out_of_order);
#ifndef SPOOL_INLINE_FORK_JOIN
    harness_phase("a frame synced twice through the library aborts (release build)");
    expect_abort(child_syncs_twice, "spool_sync() called twice");
    expect_abort(child_typed_syncs_twice, "spool_sync() called twice");
#endif
  }
  harness_watchdog_off();
  return harness_report();
}
