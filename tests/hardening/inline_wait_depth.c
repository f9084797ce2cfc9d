/* Regression (issue 9, follow-up of DESIGN.md "Blocking result() inside a
 * worker", changed 2026-12): every blocking wait inside a task (result,
 * exception, spool_wait in each mode, as_completed_next) runs a queued
 * awaited task inline. Nothing limited how deep those runs nest on one
 * stack, so a chain of tasks, each submitting the next and blocking on its
 * result, nested one inline run per link and overflowed the fiber stack
 * (a crash on a documented path). Past the stack limit that
 * spool_yield_until_done already used, such a wait now suspends the task
 * instead, so the awaited task runs on a fresh stack.
 *
 * Workloads, on 1 worker and on 2, every result checked:
 *   chain   a task of depth d submits depth d-1 and waits for it with one
 *           of the blocking waits (one run per kind of wait); depth 0
 *           returns 0, each link checks it got d-1 and returns d;
 *   dag     a root task submits N nodes in order, node i waiting for node
 *           i-1 (the kinds of wait in turn), then waits for the last: the
 *           newest node runs first and pulls the whole list in behind it;
 *   timeout a task whose stack is past the limit waits with a finite
 *           timeout for a queued task that cannot finish before it
 *           times out: it must time out (the deadline is kept while the
 *           wait suspends), and the awaited task must still run.
 * Before the fix, chain and dag died of a stack overflow (SIGSEGV). */
#include "harness.h"

typedef enum wait_kind {
  VIA_RESULT,       /* spool_future_result, SPOOL_FOREVER */
  VIA_RESULT_TIMED, /* spool_future_result, a finite timeout */
  VIA_EXCEPTION,    /* spool_future_exception, SPOOL_FOREVER */
  VIA_WAIT_ALL,     /* spool_wait, ALL_COMPLETED */
  VIA_WAIT_FIRST,   /* spool_wait, FIRST_COMPLETED, a finite timeout */
  VIA_WAIT_ERROR,   /* spool_wait, FIRST_EXCEPTION */
  VIA_AS_COMPLETED, /* spool_as_completed_next */
  VIA_KINDS
} wait_kind;

static const char *const kind_name[VIA_KINDS] = {
    "result",       "result with a timeout", "exception",
    "wait all",     "wait first completed",  "wait first exception",
    "as_completed",
};

/* Long enough never to expire here; finite, so the timed paths run. */
#define LONG_TIMEOUT 600.0

/* Waits for f with the given kind of blocking wait; true when f is done
   and the wait said so. */
static bool wait_for(spool_future *f, wait_kind kind) {
  size_t ndone = 0;
  switch (kind) {
  case VIA_RESULT:
    return spool_future_result(f, SPOOL_FOREVER, NULL) == SPOOL_OK;
  case VIA_RESULT_TIMED:
    return spool_future_result(f, LONG_TIMEOUT, NULL) == SPOOL_OK;
  case VIA_EXCEPTION:
    return spool_future_exception(f, SPOOL_FOREVER) == SPOOL_OK;
  case VIA_WAIT_ALL:
    return spool_wait(&f, 1, SPOOL_FOREVER, SPOOL_ALL_COMPLETED, &ndone) == SPOOL_OK && ndone == 1;
  case VIA_WAIT_FIRST:
    return spool_wait(&f, 1, LONG_TIMEOUT, SPOOL_FIRST_COMPLETED, &ndone) == SPOOL_OK && ndone == 1;
  case VIA_WAIT_ERROR:
    return spool_wait(&f, 1, SPOOL_FOREVER, SPOOL_FIRST_EXCEPTION, &ndone) == SPOOL_OK &&
           ndone == 1;
  case VIA_AS_COMPLETED: {
    spool_as_completed *it = NULL;
    spool_future *got = NULL;
    bool ok = spool_as_completed_begin(&it, &f, 1) == SPOOL_OK &&
              spool_as_completed_next(it, SPOOL_FOREVER, &got) == SPOOL_OK && got == f;
    spool_as_completed_end(it);
    return ok;
  }
  default:
    return false;
  }
}

/* f's result as an integer, -1 if it did not finish well. */
static intptr_t value_of(spool_future *f) {
  void *r = NULL;
  return spool_future_result(f, 0, &r) == SPOOL_OK ? (intptr_t)r : -1;
}

/* ---- chain ------------------------------------------------------------------ */

static spool_executor *chain_ex;
static wait_kind chain_kind;
/* Links that saw a wrong result. Relaxed: a counter, read by main after the
   top link's result, whose completion orders every link's work before it. */
static atomic_long chain_wrong;

static int chain_link(void *arg, void **result) {
  intptr_t depth = (intptr_t)arg;
  *result = arg;
  if (depth == 0) return 0;
  spool_future *next = NULL;
  if (spool_submit(chain_ex, chain_link, HARNESS_PTR(depth - 1), &next) != SPOOL_OK) {
    atomic_fetch_add_explicit(&chain_wrong, 1, memory_order_relaxed);
    return 1;
  }
  bool ok = wait_for(next, chain_kind) && value_of(next) == depth - 1;
  spool_future_release(next);
  if (!ok) atomic_fetch_add_explicit(&chain_wrong, 1, memory_order_relaxed);
  return ok ? 0 : 1;
}

static void run_chain(unsigned workers, wait_kind kind, intptr_t depth) {
  chain_ex = harness_executor(workers);
  chain_kind = kind;
  atomic_store_explicit(&chain_wrong, 0, memory_order_relaxed);
  spool_future *top = harness_submit(chain_ex, chain_link, HARNESS_PTR(depth));
  CHECK_EQ(harness_result(top, SPOOL_FOREVER), depth);
  spool_future_release(top);
  if (!CHECK_EQ(atomic_load_explicit(&chain_wrong, memory_order_relaxed), 0))
    fprintf(stderr, "  chain of %ld on %u worker(s), waiting with %s\n", (long)depth, workers,
            kind_name[kind]);
  /* On one worker nothing is stolen, so a suspension means a wait went past
     the stack limit: the chain was deep enough to test what it is for. */
  if (workers == 1) CHECK(harness_suspends(chain_ex) > 0);
  spool_executor_destroy(chain_ex);
}

/* ---- dag -------------------------------------------------------------------- */

static spool_executor *dag_ex;
static spool_future **dag_nodes;
static intptr_t dag_size;
static atomic_long dag_wrong; /* relaxed: as chain_wrong (the root's result orders it) */

static int dag_node(void *arg, void **result) {
  intptr_t i = (intptr_t)arg;
  *result = arg;
  if (i == 0) return 0;
  /* dag_nodes[i - 1] was stored before node i was submitted (the submit
     publishes it). */
  spool_future *before = dag_nodes[i - 1];
  bool ok = wait_for(before, (wait_kind)(i % VIA_KINDS)) && value_of(before) == i - 1;
  if (!ok) atomic_fetch_add_explicit(&dag_wrong, 1, memory_order_relaxed);
  return ok ? 0 : 1;
}

static int dag_root(void *arg, void **result) {
  (void)arg;
  for (intptr_t i = 0; i < dag_size; i++)
    if (spool_submit(dag_ex, dag_node, HARNESS_PTR(i), &dag_nodes[i]) != SPOOL_OK) {
      dag_size = i; /* wait for what was submitted */
      *result = HARNESS_PTR(-1);
      break;
    }
  intptr_t bad = 0;
  if (dag_size > 0 && spool_future_result(dag_nodes[dag_size - 1], SPOOL_FOREVER, NULL) != SPOOL_OK)
    bad++;
  for (intptr_t i = 0; i < dag_size; i++)
    if (!wait_for(dag_nodes[i], VIA_RESULT) || value_of(dag_nodes[i]) != i) bad++;
  if (*result != HARNESS_PTR(-1)) *result = HARNESS_PTR(bad);
  return 0;
}

static void run_dag(unsigned workers, intptr_t size) {
  dag_ex = harness_executor(workers);
  dag_size = size;
  dag_nodes = calloc((size_t)size, sizeof *dag_nodes);
  if (!dag_nodes) abort();
  atomic_store_explicit(&dag_wrong, 0, memory_order_relaxed);
  spool_future *root = harness_submit(dag_ex, dag_root, NULL);
  if (!CHECK_EQ(harness_result(root, SPOOL_FOREVER), 0) ||
      !CHECK_EQ(atomic_load_explicit(&dag_wrong, memory_order_relaxed), 0))
    fprintf(stderr, "  dag of %ld on %u worker(s)\n", (long)size, workers);
  CHECK_EQ(dag_size, size);
  if (workers == 1) CHECK(harness_suspends(dag_ex) > 0); /* as in run_chain */
  spool_future_release(root);
  for (intptr_t i = 0; i < dag_size; i++)
    spool_future_release(dag_nodes[i]);
  free(dag_nodes);
  spool_executor_destroy(dag_ex);
}

/* ---- timeout ---------------------------------------------------------------- */

typedef struct timeout_case {
  spool_executor *ex;
  spool_future *release; /* created; set once the waiter has timed out */
  char *stack_top;       /* the waiter's frame address on entry */
  size_t stack_size;     /* the executor's fiber stack size */
  /* The awaited task started. Relaxed: read after the waiter's result,
     which it awaited, so that completion orders the store before the read. */
  atomic_bool awaited_ran;
  int timed_rc, yield_rc, final_rc;
  intptr_t awaited_value;
} timeout_case;

/* Waits on the created future `release`, then returns 7. */
static int held_task(void *arg, void **result) {
  timeout_case *t = arg;
  atomic_store_explicit(&t->awaited_ran, true, memory_order_relaxed);
  *result = HARNESS_PTR(7);
  return spool_future_yield_until_done(t->release) == SPOOL_OK ? 0 : 1;
}

/* Recurses until 80% of the stack is used (past the limit: less than a
   quarter free), then waits. */
static void __attribute__((noinline)) wait_deep(timeout_case *t) {
  volatile char pad[2048];
  pad[0] = 1;
  char *here = __builtin_frame_address(0);
  if ((size_t)(t->stack_top - here) < t->stack_size / 10 * 8) {
    wait_deep(t);
    pad[1] = pad[0];
    return;
  }
  spool_future *f = NULL;
  if (spool_submit(t->ex, held_task, t, &f) != SPOOL_OK) return;
  /* The awaited task is queued: run inline, it would wait for `release`
     beneath this wait and time out only after it (never, on 1 worker). */
  t->timed_rc = spool_future_result(f, 0.05, NULL);
  spool_future_set_result(t->release, NULL);
  t->yield_rc = spool_future_yield_until_done(f);
  t->final_rc = spool_future_result(f, 0, NULL);
  t->awaited_value = value_of(f);
  spool_future_release(f);
}

static int timeout_waiter(void *arg, void **result) {
  (void)result;
  timeout_case *t = arg;
  t->stack_top = __builtin_frame_address(0);
  wait_deep(t);
  return 0;
}

static void run_timeout(unsigned workers) {
  const size_t stack = 1u << 20;
  timeout_case t = {.stack_size = stack, .timed_rc = -1, .yield_rc = -1, .final_rc = -1};
  t.ex = harness_executor_opt(workers, (harness_options){0, stack});
  t.release = harness_created();
  spool_future *w = harness_submit(t.ex, timeout_waiter, &t);
  CHECK_EQ(harness_result(w, SPOOL_FOREVER), 0);
  CHECK_EQ(t.timed_rc, SPOOL_ETIMEDOUT);
  CHECK_EQ(t.yield_rc, SPOOL_OK);
  CHECK_EQ(t.final_rc, SPOOL_OK);
  CHECK_EQ(t.awaited_value, 7);
  CHECK(atomic_load_explicit(&t.awaited_ran, memory_order_relaxed));
  spool_future_release(w);
  spool_future_release(t.release);
  spool_executor_destroy(t.ex);
}

int main(void) {
  /* Deep enough to cross the stack limit many times in every build (about
     every thousand links natively); shorter where the build runs slower
     (ThreadSanitizer, valgrind, an emulator), to stay in its time budget. */
  intptr_t depth = 100000 / (intptr_t)harness_slowness() * (intptr_t)harness_scale();
  for (unsigned workers = 1; workers <= 2; workers++) {
    for (int k = 0; k < VIA_KINDS; k++) {
      harness_phase(kind_name[k]);
      run_chain(workers, (wait_kind)k, depth);
    }
    harness_phase("dag");
    run_dag(workers, depth);
    harness_phase("timeout past the stack limit");
    run_timeout(workers);
  }
  harness_watchdog_off();
  return harness_report();
}
