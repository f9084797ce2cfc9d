/* Fuzz target: sequences of public API calls decoded from the input.
 *
 * Each input byte string is a program: an opcode byte, then the bytes of
 * its arguments (reading past the end gives zeros). The calls act on one
 * executor at a time (1 to 3 workers, max_fibers 1, 2, 4 or the default)
 * and eight future slots (task futures or created futures), from the
 * fuzzer's thread; the tasks themselves fork and sync, submit children,
 * yield on them, block on them, and fire and forget. At the end of the
 * input every created future is completed, every reference released and
 * the executor destroyed, so the next input starts clean (and
 * LeakSanitizer sees what leaked).
 *
 * Every call's code is checked against what its situation documents, every
 * successful result against the value its task computes; a violated check
 * aborts. No call is made that may legitimately wait for ever: a wait that
 * involves a created future nobody has completed yet has a finite timeout,
 * and tasks wait only on their own children.
 *
 * Operations that would trip defects already filed are left out while
 * known.h lists them. */
#include "fuzz.h"
#include "known.h"

#include <math.h> /* NAN */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <hwloc.h>

#include "spool.h"

/* Positive task codes, so they pass through any runtime unchanged. */
#define ERR_TASK     100  /* T_FAIL returns ERR_TASK + arg */
#define ERR_SHUTDOWN 7002 /* a child submit was refused: a shutdown, or a cancelled group */

/* ---- Input --------------------------------------------------------------- */

typedef struct reader {
  const uint8_t *p, *end;
} reader;

static unsigned next(reader *r) {
  return r->p < r->end ? *r->p++ : 0;
}

/* ---- Tasks ---------------------------------------------------------------- */

enum { T_SQUARE, T_FAIL, T_FIB, T_YIELD, T_INLINE, T_WAIT_ALL, T_DETACH, T_WAIT_CREATED, NTASKS };

/* A task's argument: its kind and two small parameters. */
#define TASK_ARG(kind, a, b) ((void *)(uintptr_t)((kind) | (a) << 4 | (b) << 12))
#define ARG_KIND(x)          ((unsigned)((uintptr_t)(x)&0xF))
#define ARG_A(x)             ((unsigned)((uintptr_t)(x) >> 4 & 0xFF))
#define ARG_B(x)             ((unsigned)((uintptr_t)(x) >> 12 & 0xFF))

static intptr_t fib_serial(unsigned n) {
  return n < 2 ? (intptr_t)n : fib_serial(n - 1) + fib_serial(n - 2);
}

static intptr_t leaves(unsigned k, unsigned depth) {
  return depth == 0 ? 1 : k * leaves(k, depth - 1);
}

static int run_task(void *arg, void **result);

/* SPOOL_ECANCELLED: the task is a member of a cancelled group (op_group);
   a task of a slot is in no group, and check_outcome() then requires a
   shutdown. */
static int child_submit_code(int rc) {
  FUZZ_CHECK(rc == SPOOL_ESHUTDOWN || rc == SPOOL_ECANCELLED, "a submit from a task returned %d",
             rc);
  return ERR_SHUTDOWN;
}

/* A child's outcome: a shutdown with cancel_futures may cancel it. */
static int child_code(int rc) {
  FUZZ_CHECK(rc == 0 || rc == SPOOL_ECANCELLED || rc == ERR_SHUTDOWN, "a child returned %d", rc);
  return rc ? ERR_SHUTDOWN : 0;
}

static int task_fib(void *arg, void **result) {
  unsigned n = (unsigned)(uintptr_t)arg;
  if (n < 2) {
    *result = (void *)(uintptr_t)n;
    return 0;
  }
  spool_task t;
  spool_fork(&t, task_fib, (void *)(uintptr_t)(n - 1));
  void *b = NULL, *a = NULL;
  int eb = task_fib((void *)(uintptr_t)(n - 2), &b);
  int ea = spool_sync(&t, &a);
  FUZZ_CHECK(ea == 0 && eb == 0, "fib(%u): %d %d", n, ea, eb);
  *result = (void *)((intptr_t)a + (intptr_t)b);
  return 0;
}

/* Children of a yield tree, waited on together or one by one. */
static int task_yield(unsigned k, unsigned depth, bool one_by_one, void **result) {
  if (depth == 0) {
    *result = (void *)1;
    return 0;
  }
  spool_executor *ex = spool_current_executor();
  FUZZ_CHECK(ex != NULL, "a task runs on no executor");
  spool_future *kids[4];
  unsigned made = 0;
  int rc = 0;
  for (; made < k; made++) {
    rc = spool_submit(ex, run_task, TASK_ARG(T_YIELD, k, (depth - 1) | one_by_one << 4),
                      &kids[made]);
    if (rc) break;
  }
  intptr_t sum = 0;
  int code = rc ? child_submit_code(rc) : 0;
  if (one_by_one) {
    for (unsigned i = 0; i < made; i++)
      FUZZ_CHECK(spool_future_yield_until_done(kids[i]) == 0, "future_yield_until_done");
  } else {
    FUZZ_CHECK(spool_yield_until_done(kids, made) == 0, "yield_until_done");
  }
  for (unsigned i = 0; i < made; i++) {
    FUZZ_CHECK(spool_future_done(kids[i]), "a future not done after the yield");
    void *r = NULL;
    int e = child_code(spool_future_result(kids[i], 0, &r));
    if (e == 0)
      sum += (intptr_t)r;
    else if (!code)
      code = e;
    spool_future_release(kids[i]);
  }
  if (code) return code;
  *result = (void *)sum;
  return 0;
}

static int run_task(void *arg, void **result) {
  unsigned a = ARG_A(arg), b = ARG_B(arg);
  switch (ARG_KIND(arg)) {
  case T_SQUARE:
    *result = (void *)(uintptr_t)(a * a);
    return 0;
  case T_FAIL:
    return ERR_TASK + (int)a;
  case T_FIB:
    return task_fib((void *)(uintptr_t)a, result);
  case T_YIELD:
    return task_yield(a, b & 0xF, b >> 4, result);
  case T_INLINE: { /* submit, then block on it from the worker */
    spool_future *f;
    int rc = spool_submit(spool_current_executor(), run_task, TASK_ARG(T_SQUARE, a, 0), &f);
    if (rc) return child_submit_code(rc);
    void *r = NULL;
    rc = child_code(spool_future_result(f, SPOOL_FOREVER, &r));
    spool_future_release(f);
    if (rc) return rc;
    FUZZ_CHECK((uintptr_t)r == a * a, "inline child: %p", r);
    *result = r;
    return 0;
  }
  case T_WAIT_ALL: { /* a children in a blocking wait(ALL_COMPLETED) */
    spool_future *kids[8];
    unsigned made = 0;
    int rc = 0;
    for (; made < a && made < 8; made++)
      if ((rc = spool_submit(spool_current_executor(), run_task, TASK_ARG(T_SQUARE, made, 0),
                             &kids[made])))
        break;
    size_t ndone = 0;
    int w = spool_wait(kids, made, SPOOL_FOREVER, SPOOL_ALL_COMPLETED, &ndone);
    FUZZ_CHECK(w == 0 && ndone == made, "wait in a task: %d, %zu of %u", w, ndone, made);
    intptr_t sum = 0;
    int code = rc ? child_submit_code(rc) : 0;
    for (unsigned i = 0; i < made; i++) {
      void *r = NULL;
      int e = child_code(spool_future_result(kids[i], 0, &r));
      sum += (intptr_t)r;
      if (e) code = e;
      spool_future_release(kids[i]);
    }
    if (code) return code;
    *result = (void *)sum;
    return 0;
  }
  case T_DETACH: { /* a fire-and-forget children; join covers them */
    for (unsigned i = 0; i < a; i++) {
      int rc = spool_submit(spool_current_executor(), run_task, TASK_ARG(T_SQUARE, i, 0), NULL);
      if (rc) return child_submit_code(rc);
    }
    *result = (void *)(uintptr_t)a;
    return 0;
  }
  default:
    FUZZ_CHECK(false, "task kind %u", ARG_KIND(arg));
    return 0;
  }
}

/* Blocks (briefly) on a created future; the harness holds a reference for
   it until the end of the input (a task dropped by a shutdown never runs,
   so it could not release one of its own). */
static int task_wait_created(void *arg, void **result) {
  spool_future *f = arg;
  void *r = NULL;
  int rc = spool_future_result(f, 0.001, &r);
  FUZZ_CHECK(rc == 0 || rc == SPOOL_ETIMEDOUT || rc == SPOOL_ECANCELLED || rc > 0,
             "a wait on a created future returned %d", rc);
  *result = (void *)7;
  return 0;
}

/* The value and code a task of this argument ends with. */
static void task_expect(void *arg, int *code, intptr_t *value) {
  unsigned a = ARG_A(arg), b = ARG_B(arg);
  *code = 0;
  switch (ARG_KIND(arg)) {
  case T_SQUARE:
  case T_INLINE:
    *value = (intptr_t)a * a;
    break;
  case T_FAIL:
    *code = ERR_TASK + (int)a;
    *value = 0;
    break;
  case T_FIB:
    *value = fib_serial(a);
    break;
  case T_YIELD:
    *value = leaves(a, b & 0xF);
    break;
  case T_WAIT_ALL: {
    intptr_t s = 0;
    for (unsigned i = 0; i < a && i < 8; i++)
      s += (intptr_t)i * i;
    *value = s;
    break;
  }
  case T_DETACH:
    *value = a;
    break;
  default:
    *value = 7; /* task_wait_created */
  }
}

/* ---- State ---------------------------------------------------------------- */

#define NSLOTS 8
enum { EMPTY, TASK, CREATED };

typedef struct slot {
  spool_future *f;
  int kind;
  int code;       /* TASK: the expected code */
  intptr_t value; /* TASK: the expected result */
  spool_executor *ex;
} slot;

static struct {
  spool_executor *ex;
  unsigned workers;
  bool shut, cancelled_queued;
  slot s[NSLOTS];
  long detached_errors; /* fire-and-forget T_FAIL submitted since the last join */
} st;

/* References held for task_wait_created tasks, released at the end. */
#define MAX_LENT 64
static spool_future *lent[MAX_LENT];
static unsigned nlent;

static _Atomic unsigned callbacks_run;
static unsigned callbacks_added;

static void cb_count(spool_future *f, void *user) {
  (void)user;
  FUZZ_CHECK(spool_future_done(f), "a callback on a future that is not done");
  /* relaxed: read after the futures are done and the executor destroyed */
  atomic_fetch_add_explicit(&callbacks_run, 1, memory_order_relaxed);
}

static void cb_release(spool_future *f, void *user) {
  cb_count(f, user);
  spool_future_release(f);
}

static void cb_submit(spool_future *f, void *user) {
  cb_count(f, user);
  int rc = spool_submit(user, run_task, TASK_ARG(T_SQUARE, 3, 0), NULL);
  FUZZ_CHECK(rc == 0 || rc == SPOOL_ESHUTDOWN, "submit from a callback: %d", rc);
}

#if !KNOWN_ISSUE9_DEFECT1
/* Forks and syncs: on a worker the frame may be stolen and the callback
   suspend (issue 9, defect 1). */
static void cb_fork(spool_future *f, void *user) {
  cb_count(f, user);
  spool_task t;
  spool_fork(&t, task_fib, (void *)(uintptr_t)10);
  void *r = NULL;
  FUZZ_CHECK(spool_sync(&t, &r) == 0 && (intptr_t)r == 55, "fork in a callback");
}
#endif

static slot *pick(reader *r) {
  return &st.s[next(r) % NSLOTS];
}

/* Whether some slot holds a created future nobody has completed. */
static bool created_pending(void) {
  for (int i = 0; i < NSLOTS; i++)
    if (st.s[i].kind == CREATED && !spool_future_done(st.s[i].f)) return true;
  return false;
}

static double pick_timeout(reader *r, bool finite) {
  static const double t[] = {0, 0.001, SPOOL_FOREVER, 0.002};
  double v = t[next(r) % 4];
  return finite && v < 0 ? 0.001 : v;
}

/* A finished future's outcome against its slot's expectation. */
static void check_outcome(const slot *s, int rc, void *value) {
  if (rc == SPOOL_ECANCELLED) {
    FUZZ_CHECK(spool_future_cancelled(s->f), "ECANCELLED from a future not cancelled");
    return;
  }
  if (s->kind != TASK) return;
  if (rc == ERR_SHUTDOWN) {
    FUZZ_CHECK(st.shut || !s->ex, "ERR_SHUTDOWN, but no shutdown happened");
    return;
  }
  FUZZ_CHECK(rc == s->code && (rc != 0 || (intptr_t)value == s->value),
             "task outcome %d/%ld, expected %d/%ld", rc, (long)(intptr_t)value, s->code,
             (long)s->value);
}

/* A created future is completed before the slot lets it go, so that its
   callbacks run and nothing waits on it for ever. */
static void slot_release(slot *s) {
  if (s->kind == CREATED && !spool_future_done(s->f))
    FUZZ_CHECK(spool_future_set_result(s->f, NULL) == 0, "set_result before release");
  spool_future_release(s->f);
  memset(s, 0, sizeof *s);
}

/* ---- Operations ----------------------------------------------------------- */

static void op_create(reader *r) {
  unsigned b = next(r);
  if (st.ex) return;
  spool_config c;
  spool_config_init(&c);
  static const unsigned fibers[] = {1, 2, 4, 0};
  c.workers = 1 + b % 3;
  if (fibers[b >> 2 & 3]) c.max_fibers = fibers[b >> 2 & 3];
  c.catch_stack_overflow = b >> 4 & 1;
  spool_executor *ex = NULL;
  int rc = spool_executor_create(&ex, &c);
  FUZZ_CHECK(rc == 0 && ex, "create (%u workers): %d", c.workers, rc);
  FUZZ_CHECK(spool_executor_workers(ex) == c.workers, "workers");
  st.ex = ex;
  st.workers = c.workers;
  st.shut = false;
}

static void op_submit(reader *r) {
  slot *s = pick(r);
  unsigned kind = next(r) % NTASKS, a = next(r), b = next(r);
  bool detached = (b & 0x80) != 0;
  switch (kind) { /* keep the work small */
  case T_FAIL:
  case T_SQUARE:
  case T_INLINE:
    a %= 16;
    break;
  case T_FIB:
    a %= 13;
    break;
  case T_YIELD:
    a = 1 + a % 4;
    b = (b % 3) | (b & 0x10);
    break;
  case T_WAIT_ALL:
  case T_DETACH:
    a %= 9;
    break;
  }
  b &= 0x1F;
  spool_fn fn = run_task;
  void *arg = TASK_ARG(kind, a, b);
  spool_future *pass = NULL;
  if (kind == T_WAIT_CREATED) {
    if (s->kind != CREATED || nlent == MAX_LENT) return;
    spool_future_retain(s->f); /* for the task, released by finish() */
    lent[nlent++] = s->f;
    pass = s->f;
    fn = task_wait_created;
    arg = pass;
    detached = true;
  }
  if (!st.ex) {
    FUZZ_CHECK(spool_submit(NULL, fn, arg, NULL) == SPOOL_EINVAL, "submit(NULL)");
    return;
  }
  if (detached) {
    int rc = spool_submit(st.ex, fn, arg, NULL);
    FUZZ_CHECK(rc == 0 || (rc == SPOOL_ESHUTDOWN && st.shut), "detached submit: %d", rc);
    return;
  }
  if (s->kind != EMPTY) slot_release(s);
  spool_future *f = (spool_future *)1;
  int rc = spool_submit(st.ex, fn, arg, &f);
  if (rc) {
    FUZZ_CHECK(rc == SPOOL_ESHUTDOWN && st.shut && f == NULL, "submit: %d", rc);
    return;
  }
  FUZZ_CHECK(f && spool_future_executor(f) == st.ex, "submit's future");
  s->f = f;
  s->kind = TASK;
  s->ex = st.ex;
  task_expect(arg, &s->code, &s->value);
}

static void op_result(reader *r, bool exception) {
  slot *s = pick(r);
  if (s->kind == EMPTY) return;
  double timeout = pick_timeout(r, s->kind == CREATED);
  void *value = (void *)1;
  int rc = exception ? spool_future_exception(s->f, timeout)
                     : spool_future_result(s->f, timeout, &value);
  if (rc == SPOOL_ETIMEDOUT) {
    FUZZ_CHECK(timeout >= 0, "ETIMEDOUT without a timeout");
    return;
  }
  FUZZ_CHECK(spool_future_done(s->f), "a future not done after its result");
  if (!exception && rc != 0) FUZZ_CHECK(value == NULL, "*result not NULL on an error");
  if (exception && s->kind == TASK && rc == 0) value = (void *)s->value;
  check_outcome(s, rc, value);
}

static void op_cancel(reader *r) {
  slot *s = pick(r);
  if (s->kind == EMPTY) return;
  bool was_done = spool_future_done(s->f);
  bool cancelled = spool_future_cancel(s->f);
  if (cancelled) {
    FUZZ_CHECK(spool_future_cancelled(s->f) && spool_future_done(s->f), "cancel's state");
    FUZZ_CHECK(!was_done || spool_future_cancelled(s->f), "cancelled a finished future");
    void *v = (void *)1;
    FUZZ_CHECK(spool_future_result(s->f, 0, &v) == SPOOL_ECANCELLED && v == NULL, "cancelled");
  } else {
    FUZZ_CHECK(spool_future_running(s->f) || spool_future_done(s->f), "cancel refused, pending");
    FUZZ_CHECK(s->kind == TASK || was_done || spool_future_done(s->f), "created not cancelled");
  }
}

static void op_create_future(reader *r) {
  slot *s = pick(r);
  if (s->kind != EMPTY) slot_release(s);
  spool_future *f = NULL;
  FUZZ_CHECK(spool_future_create(&f) == 0 && f, "future_create");
  FUZZ_CHECK(spool_future_executor(f) == NULL && !spool_future_done(f), "a created future");
  s->f = f;
  s->kind = CREATED;
}

static void op_set(reader *r) {
  slot *s = pick(r);
  unsigned how = next(r);
  if (s->kind == EMPTY) return;
  bool done = spool_future_done(s->f);
  int rc;
  if (how & 1) {
    int code = (how >> 1) % 4 == 0 ? 0 : ERR_TASK + (int)(how >> 3);
    rc = spool_future_set_exception(s->f, code);
    if (code == 0) { /* both errors may apply; the contract orders neither */
      FUZZ_CHECK(rc == SPOOL_EINVAL || (rc == SPOOL_ESTATE && (s->kind == TASK || done)),
                 "set_exception(0): %d", rc);
      return;
    }
  } else {
    rc = spool_future_set_result(s->f, (void *)(uintptr_t)how);
  }
  if (s->kind == TASK || done)
    FUZZ_CHECK(rc == SPOOL_ESTATE, "set on a task's or a done future: %d", rc);
  else
    FUZZ_CHECK(rc == 0 && spool_future_done(s->f), "set: %d", rc);
}

/* The futures of the non-empty slots; a duplicate at the end if asked. */
static size_t gather(spool_future **fs, bool duplicate) {
  size_t n = 0;
  for (int i = 0; i < NSLOTS; i++)
    if (st.s[i].kind != EMPTY) fs[n++] = st.s[i].f;
  if (duplicate && n > 0) fs[n++] = fs[0];
  return n;
}

static bool has_error(spool_future *f) {
  return spool_future_done(f) && !spool_future_cancelled(f) && spool_future_exception(f, 0) != 0;
}

static void op_wait(reader *r) {
  spool_future *fs[NSLOTS], *before[NSLOTS];
  size_t n = gather(fs, false);
  spool_return_when when = (spool_return_when)(next(r) % 3);
  double timeout = pick_timeout(r, created_pending());
  memcpy(before, fs, sizeof fs);
  size_t ndone = 99;
  int rc = spool_wait(fs, n, timeout, when, &ndone);
  FUZZ_CHECK(rc == 0 || (rc == SPOOL_ETIMEDOUT && timeout >= 0), "wait: %d", rc);
  FUZZ_CHECK(ndone <= n, "ndone %zu of %zu", ndone, n);
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (j < n && before[j] != fs[i])
      j++;
    FUZZ_CHECK(j < n, "wait's reordering is no permutation");
    if (i < ndone) FUZZ_CHECK(spool_future_done(fs[i]), "a future counted done is not");
  }
  if (rc != 0 || n == 0) return;
  bool any_error = false;
  for (size_t i = 0; i < ndone; i++)
    any_error |= has_error(fs[i]);
  if (when == SPOOL_ALL_COMPLETED) FUZZ_CHECK(ndone == n, "ALL_COMPLETED: %zu of %zu", ndone, n);
  if (when == SPOOL_FIRST_COMPLETED) FUZZ_CHECK(ndone >= 1, "FIRST_COMPLETED: none done");
  if (when == SPOOL_FIRST_EXCEPTION)
    FUZZ_CHECK(ndone == n || any_error, "FIRST_EXCEPTION: returned with no error");
}

static void op_as_completed(reader *r) {
  spool_future *fs[NSLOTS + 1];
  size_t n = gather(fs, next(r) & 1);
  double timeout = pick_timeout(r, created_pending());
  spool_as_completed *it = NULL;
  int rc = spool_as_completed_begin(&it, fs, n);
  FUZZ_CHECK(rc == 0 && it, "as_completed_begin: %d", rc);
  size_t distinct = 0;
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (fs[j] != fs[i])
      j++;
    distinct += j == i;
  }
  spool_future *seen[NSLOTS + 1];
  size_t nseen = 0;
  spool_future *f;
  while ((rc = spool_as_completed_next(it, timeout, &f)) == 0) {
    FUZZ_CHECK(spool_future_done(f), "as_completed returned a future not done");
    for (size_t i = 0; i < nseen; i++)
      FUZZ_CHECK(seen[i] != f, "as_completed returned a future twice");
    FUZZ_CHECK(nseen < distinct, "as_completed returned more than there are");
    seen[nseen++] = f;
  }
  FUZZ_CHECK(f == NULL, "*next not NULL");
  if (rc == SPOOL_EEXHAUSTED)
    FUZZ_CHECK(nseen == distinct, "EEXHAUSTED after %zu of %zu", nseen, distinct);
  else
    FUZZ_CHECK(rc == SPOOL_ETIMEDOUT && timeout >= 0, "as_completed_next: %d", rc);
  spool_as_completed_end(it);
}

static void op_yield_outside(void) {
  if (created_pending()) return; /* it has no timeout */
  spool_future *fs[NSLOTS];
  size_t n = gather(fs, false);
  FUZZ_CHECK(spool_yield_until_done(fs, n) == 0, "yield_until_done outside a task");
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK(spool_future_done(fs[i]), "not done after yield_until_done");
}

static void op_join(reader *r) {
  double timeout = pick_timeout(r, false);
  if (!st.ex) {
    FUZZ_CHECK(spool_join(NULL, 0) == SPOOL_EINVAL, "join(NULL)");
    return;
  }
  int rc = spool_join(st.ex, timeout);
  FUZZ_CHECK(rc == 0 || (rc == SPOOL_ETIMEDOUT && timeout >= 0) ||
                 (rc >= ERR_TASK && rc < ERR_TASK + 16) || rc == ERR_SHUTDOWN,
             "join: %d", rc);
}

static void op_shutdown(reader *r) {
  unsigned b = next(r);
  if (!st.ex) return;
  bool wait = b & 1, cancel = b & 2;
  FUZZ_CHECK(spool_shutdown(st.ex, wait, cancel) == 0, "shutdown");
  st.shut = true;
  FUZZ_CHECK(spool_submit(st.ex, run_task, TASK_ARG(T_SQUARE, 1, 0), NULL) == SPOOL_ESHUTDOWN,
             "submit after shutdown");
  /* With cancel_futures, only a task that a worker had already taken may
     still start (spool.h): one per worker at most, taken but not yet
     running. (Requiring none failed the replay under TSan, 4 runs in 12,
     on inputs that submit and at once shut down.) */
  unsigned not_started = 0;
  for (int i = 0; i < NSLOTS; i++) {
    slot *s = &st.s[i];
    if (s->kind != TASK || s->ex != st.ex) continue;
    if (cancel && !spool_future_running(s->f) && !spool_future_done(s->f)) not_started++;
    if (wait) FUZZ_CHECK(spool_future_done(s->f), "a task not done after shutdown(wait)");
  }
  FUZZ_CHECK(not_started <= st.workers,
             "%u queued tasks survived shutdown(cancel_futures) on %u workers", not_started,
             st.workers);
}

static void op_destroy(void) {
  if (!st.ex) {
    spool_executor_destroy(NULL);
    return;
  }
  spool_executor_destroy(st.ex);
  for (int i = 0; i < NSLOTS; i++) {
    slot *s = &st.s[i];
    if (s->kind != TASK || s->ex != st.ex) continue;
    FUZZ_CHECK(spool_future_done(s->f), "a task not done after destroy");
    FUZZ_CHECK(spool_future_executor(s->f) == NULL, "executor of a future after destroy");
    s->ex = NULL;
  }
  st.ex = NULL;
}

static void op_callback(reader *r) {
  slot *s = pick(r);
  unsigned how = next(r) % 4;
  if (s->kind == EMPTY) return;
  spool_callback cb = cb_count;
  void *user = NULL;
  if (how == 1) {
    spool_future_retain(s->f); /* released by the callback */
    cb = cb_release;
  } else if (how == 2 && s->kind == TASK && s->ex == st.ex && st.ex) {
    cb = cb_submit; /* the task completes before its executor is destroyed */
    user = st.ex;
  }
#if !KNOWN_ISSUE9_DEFECT1
  else if (how == 3)
    cb = cb_fork;
#endif
  int rc = spool_future_add_done_callback(s->f, cb, user);
  FUZZ_CHECK(rc == 0, "add_done_callback: %d", rc);
  callbacks_added++;
}

static void op_stats(reader *r) {
  int w = (int)(next(r) % 5) - 1;
  spool_stats stats;
  if (!st.ex) {
    FUZZ_CHECK(spool_stats_read(NULL, -1, &stats) == SPOOL_EINVAL, "stats(NULL)");
    return;
  }
  int rc = spool_stats_read(st.ex, w, &stats);
  FUZZ_CHECK(rc == (w < (int)st.workers ? 0 : SPOOL_EINVAL), "stats_read(%d): %d", w, rc);
  FUZZ_CHECK(spool_stats_read(st.ex, 0, NULL) == SPOOL_EINVAL, "stats_read(NULL out)");
}

static void op_run(reader *r) {
  unsigned n = next(r) % 16;
  void *v = NULL;
  if (!st.ex) return;
  int rc = spool_run(st.ex, task_fib, (void *)(uintptr_t)n, &v);
  if (rc == SPOOL_ESHUTDOWN) {
    FUZZ_CHECK(st.shut, "run: ESHUTDOWN before shutdown");
    return;
  }
  FUZZ_CHECK(rc == 0 && (intptr_t)v == fib_serial(n), "run fib(%u): %d", n, rc);
}

static void op_fork_here(reader *r) {
  unsigned n = next(r) % 12;
  spool_task t;
  spool_fork(&t, task_fib, (void *)(uintptr_t)n);
  void *v = NULL;
  FUZZ_CHECK(spool_sync(&t, &v) == 0 && (intptr_t)v == fib_serial(n), "fork on main");
}

/* NULL where an object is needed (DESIGN: SPOOL_EINVAL, false, NULL, -1). */
static void op_nulls(void) {
  void *v;
  size_t nd;
  spool_future *fs[1] = {NULL};
  spool_as_completed *it = (spool_as_completed *)1;
  FUZZ_CHECK(spool_future_result(NULL, 0, &v) == SPOOL_EINVAL, "result(NULL)");
  FUZZ_CHECK(spool_future_exception(NULL, 0) == SPOOL_EINVAL, "exception(NULL)");
  FUZZ_CHECK(!spool_future_cancel(NULL) && !spool_future_done(NULL), "cancel/done(NULL)");
  FUZZ_CHECK(!spool_future_cancelled(NULL) && !spool_future_running(NULL), "queries(NULL)");
  FUZZ_CHECK(spool_future_executor(NULL) == NULL, "executor(NULL)");
  FUZZ_CHECK(spool_future_add_done_callback(NULL, cb_count, NULL) == SPOOL_EINVAL, "cb(NULL)");
  FUZZ_CHECK(spool_future_create(NULL) == SPOOL_EINVAL, "create(NULL)");
  FUZZ_CHECK(spool_future_set_result(NULL, NULL) == SPOOL_EINVAL, "set_result(NULL)");
  FUZZ_CHECK(spool_wait(NULL, 1, 0, SPOOL_ALL_COMPLETED, &nd) == SPOOL_EINVAL, "wait(NULL)");
  FUZZ_CHECK(spool_wait(fs, 1, 0, SPOOL_ALL_COMPLETED, &nd) == SPOOL_EINVAL, "wait({NULL})");
  FUZZ_CHECK(spool_as_completed_begin(&it, NULL, 1) == SPOOL_EINVAL && it == NULL, "ac(NULL)");
  FUZZ_CHECK(spool_as_completed_next(NULL, 0, fs) == SPOOL_EINVAL, "ac_next(NULL)");
  spool_as_completed_end(NULL);
  FUZZ_CHECK(spool_yield_until_done(NULL, 1) == SPOOL_EINVAL, "yield(NULL)");
  FUZZ_CHECK(spool_future_yield_until_done(NULL) == SPOOL_EINVAL, "future_yield(NULL)");
  FUZZ_CHECK(spool_run(NULL, task_fib, NULL, &v) == SPOOL_EINVAL, "run(NULL)");
  FUZZ_CHECK(spool_shutdown(NULL, true, true) == SPOOL_EINVAL, "shutdown(NULL)");
  FUZZ_CHECK(spool_executor_create(NULL, NULL) == SPOOL_EINVAL, "create(NULL)");
  FUZZ_CHECK(spool_executor_workers(NULL) == 0, "workers(NULL)");
  FUZZ_CHECK(spool_current_executor() == NULL && spool_current_worker() == -1, "current");
  spool_future_release(NULL);
  if (st.ex) {
    FUZZ_CHECK(spool_submit(st.ex, NULL, NULL, NULL) == SPOOL_EINVAL, "submit(fn NULL)");
    FUZZ_CHECK(spool_future_result(st.s[0].f ? st.s[0].f : NULL, NAN, &v) == SPOOL_EINVAL,
               "result(NaN)");
  }
#if !KNOWN_ISSUE9_DEFECT9
  spool_fork(NULL, task_fib, NULL);
  FUZZ_CHECK(spool_sync(NULL, &v) == SPOOL_EINVAL, "sync(NULL)");
  spool_task t;
  spool_fork(&t, NULL, NULL);
  FUZZ_CHECK(spool_sync(&t, &v) == SPOOL_EINVAL, "fork(t, NULL) then sync");
#endif
}

/* ---- Loops, map, copies, groups (DESIGN.md, Additions) -------------------- */

#define LOOP_MAX 4096
static _Atomic unsigned char loop_marks[LOOP_MAX];
static size_t loop_fail_at; /* an index whose body fails; LOOP_MAX: none */

static int loop_body(size_t lo, size_t hi, void *ctx) {
  (void)ctx;
  FUZZ_CHECK(lo < hi && hi <= LOOP_MAX, "a body of [%zu, %zu)", lo, hi);
  for (size_t i = lo; i < hi; i++) {
    if (i == loop_fail_at) return ERR_TASK + 1;
    /* relaxed: read after spool_for returned (it orders the bodies) */
    atomic_fetch_add_explicit(&loop_marks[i], 1, memory_order_relaxed);
  }
  return 0;
}

static void op_loop(reader *r) {
  size_t begin = next(r) % 64, len = (next(r) << 4 | next(r) >> 4) % (LOOP_MAX - 64);
  size_t grain = next(r) % 9; /* 0: automatic */
  unsigned f = next(r);
  loop_fail_at = f & 1 && len ? begin + f % len : LOOP_MAX;
  if (!st.ex) {
    FUZZ_CHECK(spool_for(NULL, 0, 1, 0, loop_body, NULL) == SPOOL_EINVAL, "for(NULL)");
    return;
  }
  for (size_t i = 0; i < LOOP_MAX; i++)
    atomic_store_explicit(&loop_marks[i], 0, memory_order_relaxed);
  int rc = spool_for(st.ex, begin, begin + len, grain, loop_body, NULL);
  if (st.shut && len) {
    FUZZ_CHECK(rc == SPOOL_ESHUTDOWN, "for after shutdown: %d", rc);
    return;
  }
  if (loop_fail_at < LOOP_MAX) {
    FUZZ_CHECK(rc == ERR_TASK + 1, "a loop with a failing body returned %d", rc);
    return;
  }
  FUZZ_CHECK(rc == 0, "for [%zu, %zu) grain %zu: %d", begin, begin + len, grain, rc);
  for (size_t i = 0; i < LOOP_MAX; i++) {
    unsigned m = atomic_load_explicit(&loop_marks[i], memory_order_relaxed);
    FUZZ_CHECK(m == (i >= begin && i < begin + len), "index %zu ran %u times", i, m);
  }
}

#define MAP_MAX 24
static void op_map(reader *r) {
  size_t n = next(r) % (MAP_MAX + 1);
  void *args[MAP_MAX] = {0}, *results[MAP_MAX];
  int errors[MAP_MAX];
  for (size_t i = 0; i < n; i++) {
    unsigned b = next(r);
    static const unsigned kinds[] = {T_SQUARE, T_FAIL, T_FIB, T_SQUARE};
    args[i] = TASK_ARG(kinds[b & 3], (b >> 2) % 13, 0);
  }
  if (!st.ex) {
    FUZZ_CHECK(spool_map(NULL, run_task, args, n, NULL, NULL) == SPOOL_EINVAL, "map(NULL)");
    return;
  }
  int rc = spool_map(st.ex, run_task, args, n, results, errors);
  if (st.shut && n) {
    FUZZ_CHECK(rc == SPOOL_ESHUTDOWN, "map after shutdown: %d", rc);
    return;
  }
  int first = 0;
  for (size_t i = 0; i < n; i++) {
    int code;
    intptr_t value;
    task_expect(args[i], &code, &value);
    if (code && !first) first = code;
    FUZZ_CHECK(errors[i] == code && (code ? results[i] == NULL : (intptr_t)results[i] == value),
               "map item %zu: %d/%ld, expected %d/%ld", i, errors[i], (long)(intptr_t)results[i],
               code, (long)value);
  }
  FUZZ_CHECK(rc == first, "map returned %d, the lowest failing index's code is %d", rc, first);
}

/* A copied argument of `size` bytes: its size in the first word, then a
   pattern; the task checks it and returns the size. */
static int task_copy(void *arg, void **result) {
  if (!arg) {
    *result = (void *)0;
    return 0;
  }
  uint64_t size;
  memcpy(&size, arg, sizeof size);
  const unsigned char *p = arg;
  for (uint64_t i = sizeof size; i < size; i++)
    FUZZ_CHECK(p[i] == (unsigned char)(i * 7 + size), "byte %lu of a %lu-byte copy",
               (unsigned long)i, (unsigned long)size);
  *result = (void *)(uintptr_t)size;
  return 0;
}

static void op_copy(reader *r) {
  static const size_t sizes[] = {0, 8, 32, 64, 65, 256, 257, 1000};
  slot *s = pick(r);
  unsigned b = next(r);
  size_t size = sizes[b & 7];
  bool detached = b & 8;
  unsigned char buf[1000];
  uint64_t word = size;
  if (size) memcpy(buf, &word, sizeof word);
  for (size_t i = sizeof word; i < size; i++)
    buf[i] = (unsigned char)(i * 7 + size);
  if (!st.ex) {
    FUZZ_CHECK(spool_submit_copy(NULL, task_copy, buf, size, NULL) == SPOOL_EINVAL,
               "submit_copy(NULL)");
    return;
  }
  FUZZ_CHECK(spool_submit_copy(st.ex, task_copy, NULL, 8, NULL) == SPOOL_EINVAL,
             "submit_copy of NULL");
  spool_future *f = (spool_future *)1;
  int rc = spool_submit_copy(st.ex, task_copy, size ? buf : NULL, size, detached ? NULL : &f);
  memset(buf, 0xEE, sizeof buf); /* the task has its own copy */
  if (rc) {
    FUZZ_CHECK(rc == SPOOL_ESHUTDOWN && st.shut && (detached || f == NULL), "submit_copy: %d", rc);
    return;
  }
  if (detached) return; /* the task checks its copy itself */
  if (s->kind != EMPTY) slot_release(s);
  s->f = f;
  s->kind = TASK;
  s->ex = st.ex;
  s->code = 0;
  s->value = (intptr_t)size;
}

/* A group: members (some failing, some submitting detached children) and
   the group's join; sometimes a cancel before it. */
static void op_group(reader *r) {
  unsigned b = next(r), k = next(r) % 6;
  if (!st.ex) {
    FUZZ_CHECK(spool_group_create(NULL, NULL) == SPOOL_EINVAL, "group_create(NULL)");
    return;
  }
  spool_group *g = (spool_group *)1;
  FUZZ_CHECK(spool_group_create(st.ex, &g) == 0 && g, "group_create");
  bool cancel = b & 1;
  for (unsigned i = 0; i < k; i++) {
    unsigned a = next(r);
    static const unsigned kinds[] = {T_SQUARE, T_FAIL, T_DETACH, T_FIB};
    unsigned kind = kinds[a & 3];
    void *arg = TASK_ARG(kind, (a >> 2) % (kind == T_FIB ? 13 : 9), 0);
    int rc = spool_group_submit(g, run_task, arg, NULL);
    FUZZ_CHECK(rc == 0 || (rc == SPOOL_ESHUTDOWN && st.shut), "group_submit: %d", rc);
  }
  if (cancel) {
    FUZZ_CHECK(spool_group_cancel(g) == 0 && spool_group_cancelled(g), "group_cancel");
    spool_future *f = (spool_future *)1;
    FUZZ_CHECK(spool_group_submit(g, run_task, TASK_ARG(T_SQUARE, 1, 0), &f) == SPOOL_ECANCELLED &&
                   f == NULL,
               "submit to a cancelled group");
  }
  int rc = spool_group_join(g, pick_timeout(r, false));
  FUZZ_CHECK(rc == 0 || rc == SPOOL_ETIMEDOUT || (rc >= ERR_TASK && rc < ERR_TASK + 16) ||
                 rc == ERR_SHUTDOWN,
             "group_join: %d", rc);
  spool_group_destroy(g); /* waits for the members */
}

/* ---- The program ------------------------------------------------------------ */

static void finish(void) {
  /* Complete what is still pending, so every callback runs. */
  for (int i = 0; i < NSLOTS; i++)
    if (st.s[i].kind == CREATED && !spool_future_done(st.s[i].f))
      FUZZ_CHECK(spool_future_set_result(st.s[i].f, NULL) == 0, "final set_result");
  if (st.ex) op_destroy();
  for (int i = 0; i < NSLOTS; i++) {
    if (st.s[i].kind == EMPTY) continue;
    FUZZ_CHECK(spool_future_done(st.s[i].f), "a future not done at the end");
    slot_release(&st.s[i]);
  }
  for (unsigned i = 0; i < nlent; i++)
    spool_future_release(lent[i]);
  nlent = 0;
  unsigned run = atomic_load_explicit(&callbacks_run, memory_order_relaxed);
  FUZZ_CHECK(run == callbacks_added, "callbacks: %u run, %u added", run, callbacks_added);
  atomic_store_explicit(&callbacks_run, 0, memory_order_relaxed);
  callbacks_added = 0;
  memset(&st, 0, sizeof st);
}

/* hwloc loads its plugins (libxml2, ICU: tens of megabytes) when the first
   topology of the process is created and unloads them when the last one
   is destroyed; the library loads a topology per executor, so without a
   topology kept alive here every input would pay that, about 20 ms. */
static hwloc_topology_t keep_plugins_loaded;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (hwloc_topology_init(&keep_plugins_loaded) != 0) keep_plugins_loaded = NULL;
  return 0;
}

#define MAX_OPS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  reader r = {data, data + size};
  for (int ops = 0; r.p < r.end && ops < MAX_OPS; ops++) {
    switch (next(&r) % 20) {
    case 0:
    case 1:
      op_create(&r);
      break;
    case 2:
    case 3:
    case 4:
      op_submit(&r);
      break;
    case 5:
      op_result(&r, false);
      break;
    case 6:
      op_result(&r, true);
      break;
    case 7:
      op_cancel(&r);
      break;
    case 8:
      op_create_future(&r);
      break;
    case 9:
      op_set(&r);
      break;
    case 10:
      op_wait(&r);
      break;
    case 11:
      op_as_completed(&r);
      break;
    case 12:
      op_yield_outside();
      break;
    case 13:
      op_join(&r);
      break;
    case 14:
      op_shutdown(&r);
      break;
    case 15:
      op_destroy();
      break;
    case 16:
      op_callback(&r);
      break;
    case 17:
      op_stats(&r);
      break;
    case 18:
      op_run(&r);
      break;
    default: {
      /* Odd: a fork here, as before; even: the null calls (all that even
         meant before the loops existed) or one of the newer calls. */
      unsigned v = next(&r);
      switch (v & 1 ? 5 : (v >> 1) % 5) {
      case 0:
        op_nulls();
        break;
      case 1:
        op_loop(&r);
        break;
      case 2:
        op_map(&r);
        break;
      case 3:
        op_copy(&r);
        break;
      case 4:
        op_group(&r);
        break;
      default:
        op_fork_here(&r);
      }
    }
    }
  }
  finish();
  return 0;
}
