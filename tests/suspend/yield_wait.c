/* spool_yield_wait: cooperative waits with modes and timeouts.
 *
 * 1. The three modes on ONE worker, each suspending on created futures
 *    that the test completes: the task resumes when its mode holds (not
 *    before: the `resumes` statistic stays put), fs is reordered stably,
 *    and meanwhile the freed worker runs other tasks.
 * 2. Queued awaited tasks run inline first, only while `when` does not
 *    hold (FIRST_COMPLETED runs one); a timeout of 0 polls (runs nothing).
 * 3. A timeout resumes the task (a cooperative sleep on a future nobody
 *    completes), not before its deadline, and the worker runs other tasks
 *    meanwhile.
 * 4. CPU: while the only task waits 1 s, the process uses under 0.1 s of
 *    CPU (a resource check: idle workers sleep until the deadline).
 * 5. seconds_asleep includes a sleep in progress.
 * 6. At the fiber cap (max_fibers 1) a second waiter waits nested, and its
 *    deadline still holds.
 * 7. Outside a worker it is spool_wait; argument errors. */
#include <math.h>
#include <sys/resource.h>

#include "harness.h"

static spool_executor *g_ex;

static int return_arg(void *arg, void **result) {
  *result = arg;
  return 0;
}

static int fail_with(void *arg, void **result) {
  (void)result;
  return (int)(intptr_t)arg;
}

/* ---- 1: modes, suspended, on one worker ---------------------------------- */

typedef struct mode_case {
  spool_return_when when;
  spool_future *fs[3];
  double timeout;
  int rc;
  size_t ndone;
  spool_future *after[3];
  _Atomic int returned;
} mode_case;

static int yield_wait_task(void *arg, void **result) {
  (void)result;
  mode_case *m = arg;
  spool_future *fs[3] = {m->fs[0], m->fs[1], m->fs[2]};
  m->rc = spool_yield_wait(fs, 3, m->timeout, m->when, &m->ndone);
  for (int i = 0; i < 3; i++)
    m->after[i] = fs[i];
  atomic_store(&m->returned, 1);
  return 0;
}

static void await_suspends(uint64_t n) {
  CHECK(HARNESS_UNTIL(harness_suspends(g_ex) >= n, 10));
}

/* While the waiter is suspended the one worker is free: it runs a task. */
static void worker_is_free(void) {
  spool_future *f = harness_submit(g_ex, return_arg, HARNESS_PTR(41));
  CHECK_EQ(harness_result(f, SPOOL_FOREVER), 41);
  spool_future_release(f);
}

static void test_modes_one_worker(void) {
  harness_phase("modes on one worker");
  g_ex = harness_executor(1);
  const double timeouts[] = {SPOOL_FOREVER, 60.0};
  for (int t = 0; t < 2; t++) {
    /* FIRST_COMPLETED: completing fs[2] resumes it; fs becomes 2, 0, 1. */
    mode_case m = {.when = SPOOL_FIRST_COMPLETED, .timeout = timeouts[t]};
    for (int i = 0; i < 3; i++)
      m.fs[i] = harness_created();
    uint64_t s0 = harness_suspends(g_ex);
    spool_future *w = harness_submit(g_ex, yield_wait_task, &m);
    await_suspends(s0 + 1);
    worker_is_free();
    CHECK(!atomic_load(&m.returned));
    CHECK_EQ(spool_future_set_result(m.fs[2], NULL), SPOOL_OK);
    CHECK_EQ(harness_result(w, SPOOL_FOREVER), 0);
    CHECK_EQ(m.rc, SPOOL_OK);
    CHECK_EQ(m.ndone, 1);
    CHECK(m.after[0] == m.fs[2] && m.after[1] == m.fs[0] && m.after[2] == m.fs[1]);
    spool_future_release(w);
    for (int i = 0; i < 3; i++)
      spool_future_release(m.fs[i]);

    /* FIRST_EXCEPTION: a success does not resume it, an exception does. */
    mode_case e = {.when = SPOOL_FIRST_EXCEPTION, .timeout = timeouts[t]};
    for (int i = 0; i < 3; i++)
      e.fs[i] = harness_created();
    s0 = harness_suspends(g_ex);
    w = harness_submit(g_ex, yield_wait_task, &e);
    await_suspends(s0 + 1);
    uint64_t r0 = harness_stats(g_ex).resumes;
    CHECK_EQ(spool_future_set_result(e.fs[0], NULL), SPOOL_OK);
    worker_is_free(); /* the worker has run the completion's effects by now */
    CHECK(!atomic_load(&e.returned));
    CHECK_EQ(harness_stats(g_ex).resumes, r0);
    CHECK_EQ(spool_future_set_exception(e.fs[2], -3), SPOOL_OK);
    CHECK_EQ(harness_result(w, SPOOL_FOREVER), 0);
    CHECK_EQ(e.rc, SPOOL_OK);
    CHECK_EQ(e.ndone, 2);
    CHECK(e.after[0] == e.fs[0] && e.after[1] == e.fs[2] && e.after[2] == e.fs[1]);
    spool_future_release(w);
    for (int i = 0; i < 3; i++)
      spool_future_release(e.fs[i]);

    /* ALL_COMPLETED: resumes only with the last (a cancel counts). */
    mode_case a = {.when = SPOOL_ALL_COMPLETED, .timeout = timeouts[t]};
    for (int i = 0; i < 3; i++)
      a.fs[i] = harness_created();
    s0 = harness_suspends(g_ex);
    w = harness_submit(g_ex, yield_wait_task, &a);
    await_suspends(s0 + 1);
    CHECK_EQ(spool_future_set_exception(a.fs[1], -1), SPOOL_OK);
    CHECK(spool_future_cancel(a.fs[0]));
    worker_is_free();
    CHECK(!atomic_load(&a.returned));
    CHECK_EQ(spool_future_set_result(a.fs[2], NULL), SPOOL_OK);
    CHECK_EQ(harness_result(w, SPOOL_FOREVER), 0);
    CHECK_EQ(a.rc, SPOOL_OK);
    CHECK_EQ(a.ndone, 3);
    for (int i = 0; i < 3; i++)
      CHECK(a.after[i] == a.fs[i]);
    spool_future_release(w);
    for (int i = 0; i < 3; i++)
      spool_future_release(a.fs[i]);
  }
  spool_executor_destroy(g_ex);
}

/* ---- 2: inline runs first, only while `when` does not hold --------------- */

typedef struct inline_case {
  spool_return_when when;
  double timeout;
  int codes[3];
  int rc;
  size_t ndone;
  bool done[3];
} inline_case;

static int inline_task(void *arg, void **result) {
  (void)result;
  inline_case *c = arg;
  spool_future *fs[3], *orig[3];
  for (int i = 0; i < 3; i++) {
    if (spool_submit(g_ex, fail_with, HARNESS_PTR(c->codes[i]), &fs[i]) != SPOOL_OK) return -1;
    orig[i] = fs[i];
  }
  c->rc = spool_yield_wait(fs, 3, c->timeout, c->when, &c->ndone);
  for (int i = 0; i < 3; i++)
    c->done[i] = spool_future_done(orig[i]);
  for (int i = 0; i < 3; i++)
    spool_future_release(fs[i]);
  return 0;
}

static void run_inline_case(inline_case *c) {
  g_ex = harness_executor(1);
  spool_future *f = harness_submit(g_ex, inline_task, c);
  CHECK_EQ(harness_result(f, SPOOL_FOREVER), 0);
  spool_future_release(f);
  CHECK_EQ(spool_join(g_ex, SPOOL_FOREVER), SPOOL_OK);
  spool_executor_destroy(g_ex);
}

static void test_inline_first(void) {
  harness_phase("inline runs first");
  inline_case first = {SPOOL_FIRST_COMPLETED, 5.0, {0, 0, 0}, 1, 0, {0}};
  run_inline_case(&first);
  CHECK_EQ(first.rc, SPOOL_OK);
  CHECK_EQ(first.ndone, 1);
  CHECK(first.done[0] && !first.done[1] && !first.done[2]);

  inline_case exc = {SPOOL_FIRST_EXCEPTION, SPOOL_FOREVER, {0, -4, 0}, 1, 0, {0}};
  run_inline_case(&exc);
  CHECK_EQ(exc.rc, SPOOL_OK);
  CHECK_EQ(exc.ndone, 2);
  CHECK(exc.done[0] && exc.done[1] && !exc.done[2]);

  inline_case all = {SPOOL_ALL_COMPLETED, 5.0, {0, -4, 0}, 1, 0, {0}};
  run_inline_case(&all);
  CHECK_EQ(all.rc, SPOOL_OK);
  CHECK_EQ(all.ndone, 3);

  /* A timeout of 0 polls: nothing runs inline, nothing suspends. */
  inline_case poll = {SPOOL_ALL_COMPLETED, 0.0, {0, 0, 0}, 1, 0, {0}};
  run_inline_case(&poll);
  CHECK_EQ(poll.rc, SPOOL_ETIMEDOUT);
  CHECK_EQ(poll.ndone, 0);
  CHECK(!poll.done[0] && !poll.done[1] && !poll.done[2]);
}

/* ---- 3: a timeout resumes the task; the worker is free meanwhile --------- */

typedef struct sleeper {
  double timeout;
  int rc;
  size_t ndone;
  double elapsed;
  _Atomic int returned;
} sleeper;

static int sleep_task(void *arg, void **result) {
  (void)result;
  sleeper *s = arg;
  spool_future *never = harness_created();
  double t0 = harness_now();
  s->ndone = 99;
  s->rc = spool_yield_wait(&never, 1, s->timeout, SPOOL_FIRST_COMPLETED, &s->ndone);
  s->elapsed = harness_now() - t0;
  atomic_store(&s->returned, 1);
  spool_future_release(never);
  return 0;
}

/* A task that notes whether the sleeper had returned when it ran. */
static int observe_sleeper(void *arg, void **result) {
  sleeper *s = arg;
  *result = HARNESS_PTR(atomic_load(&s->returned));
  return 0;
}

static void test_timeout_resumes(void) {
  harness_phase("timeout resumes the task");
  g_ex = harness_executor(1);
  sleeper s = {.timeout = 1.0 * harness_slowness()};
  uint64_t s0 = harness_suspends(g_ex);
  spool_future *f = harness_submit(g_ex, sleep_task, &s);
  await_suspends(s0 + 1);
  /* The one worker runs others while the sleeper waits. */
  for (int i = 0; i < 10; i++) {
    spool_future *o = harness_submit(g_ex, observe_sleeper, &s);
    CHECK_EQ(harness_result(o, SPOOL_FOREVER), 0);
    spool_future_release(o);
  }
  CHECK_EQ(harness_result(f, SPOOL_FOREVER), 0);
  CHECK_EQ(s.rc, SPOOL_ETIMEDOUT);
  CHECK_EQ(s.ndone, 0);
  CHECK(s.elapsed >= s.timeout); /* never before its deadline */
  spool_stats st = harness_stats(g_ex);
  CHECK(st.resumes >= 1);
  spool_future_release(f);
  spool_executor_destroy(g_ex);

  /* Several sleepers with different deadlines on one worker, the latest
     first: each resumes at its own deadline. */
  g_ex = harness_executor(1);
  sleeper many[4];
  spool_future *fs[4];
  for (int i = 0; i < 4; i++) {
    memset(&many[i], 0, sizeof many[i]);
    many[i].timeout = 0.05 * (4 - i) * harness_slowness();
    fs[i] = harness_submit(g_ex, sleep_task, &many[i]);
  }
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(harness_result(fs[i], SPOOL_FOREVER), 0);
    CHECK_EQ(many[i].rc, SPOOL_ETIMEDOUT);
    CHECK(many[i].elapsed >= many[i].timeout);
    spool_future_release(fs[i]);
  }
  spool_executor_destroy(g_ex);
}

/* ---- 4: no CPU while the only task waits --------------------------------- */

__attribute__((unused)) /* not called under the sanitizers */
static double
cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static void test_no_cpu_while_waiting(void) {
  harness_phase("no CPU while the only task waits");
#if defined(HARNESS_TSAN) || defined(HARNESS_ASAN)
  /* The sanitizers' own threads use CPU of their own. */
  fprintf(stderr, "CPU check skipped under a sanitizer\n");
  return;
#else
  if (harness_under_valgrind()) return;
  g_ex = harness_executor(2);
  sleeper s = {.timeout = 1.0};
  uint64_t s0 = harness_suspends(g_ex);
  spool_future *f = harness_submit(g_ex, sleep_task, &s);
  await_suspends(s0 + 1);
  double cpu0 = cpu_seconds();
  CHECK_EQ(spool_future_exception(f, SPOOL_FOREVER), SPOOL_OK);
  double used = cpu_seconds() - cpu0;
  CHECK_EQ(s.rc, SPOOL_ETIMEDOUT);
  if (!CHECK(used < 0.1)) fprintf(stderr, "  %.3f s of CPU during a 1 s wait\n", used);
  spool_future_release(f);
  spool_executor_destroy(g_ex);
#endif
}

/* ---- 5: seconds_asleep includes a sleep in progress ----------------------- */

static void test_asleep_in_progress(void) {
  harness_phase("seconds_asleep in progress");
  g_ex = harness_executor(2);
  /* Idle workers sleep with no deadline and never wake by themselves: the
     statistic grows only if it counts the sleep in progress. */
  CHECK(HARNESS_UNTIL(harness_stats(g_ex).seconds_asleep > 0.2, 10));
  double a = harness_stats(g_ex).seconds_asleep;
  double b = harness_stats(g_ex).seconds_asleep;
  CHECK(b >= a);
  spool_executor_destroy(g_ex);
}

/* ---- 6: nested at the fiber cap, with a deadline ------------------------- */

static int sleep_then_sleep(void *arg, void **result) {
  (void)result;
  sleeper *s = arg;
  /* The first waiter takes the one fiber; the second (submitted from here,
     run by the freed worker... or inline) waits nested. */
  spool_future *inner = NULL;
  if (spool_submit(g_ex, sleep_task, &s[1], &inner) != SPOOL_OK) return -1;
  int rc = sleep_task(&s[0], result);
  spool_future_yield_until_done(inner);
  spool_future_release(inner);
  return rc;
}

static void test_nested_at_cap(void) {
  harness_phase("nested wait at the fiber cap keeps its deadline");
  g_ex = harness_executor_opt(1, (harness_options){.max_fibers = 1});
  sleeper s[2];
  memset(s, 0, sizeof s);
  s[0].timeout = 0.2 * harness_slowness();
  s[1].timeout = 0.1 * harness_slowness();
  spool_future *f = harness_submit(g_ex, sleep_then_sleep, s);
  CHECK_EQ(harness_result(f, SPOOL_FOREVER), 0);
  CHECK_EQ(s[0].rc, SPOOL_ETIMEDOUT);
  CHECK_EQ(s[1].rc, SPOOL_ETIMEDOUT);
  CHECK(s[0].elapsed >= s[0].timeout && s[1].elapsed >= s[1].timeout);
  CHECK(harness_stats(g_ex).nested_waits >= 1);
  spool_future_release(f);
  spool_executor_destroy(g_ex);
}

/* ---- 7: outside a worker; arguments -------------------------------------- */

static void test_outside_and_arguments(void) {
  harness_phase("outside a worker, arguments");
  spool_future *c[2] = {harness_created(), harness_created()};
  size_t nd = 7;
  CHECK_EQ(spool_yield_wait(c, 2, 0.01, SPOOL_FIRST_COMPLETED, &nd), SPOOL_ETIMEDOUT);
  CHECK_EQ(nd, 0);
  CHECK_EQ(spool_future_set_result(c[1], NULL), SPOOL_OK);
  spool_future *fs[2] = {c[0], c[1]};
  CHECK_EQ(spool_yield_wait(fs, 2, SPOOL_FOREVER, SPOOL_FIRST_COMPLETED, &nd), SPOOL_OK);
  CHECK_EQ(nd, 1);
  CHECK(fs[0] == c[1] && fs[1] == c[0]);
  CHECK_EQ(spool_yield_wait(NULL, 1, 0, SPOOL_ALL_COMPLETED, &nd), SPOOL_EINVAL);
  CHECK_EQ(spool_yield_wait(fs, 2, NAN, SPOOL_ALL_COMPLETED, &nd), SPOOL_EINVAL);
  CHECK_EQ(spool_yield_wait(fs, 2, 0, (spool_return_when)7, &nd), SPOOL_EINVAL);
  spool_future *with_null[2] = {c[0], NULL};
  CHECK_EQ(spool_yield_wait(with_null, 2, 0, SPOOL_ALL_COMPLETED, &nd), SPOOL_EINVAL);
  CHECK_EQ(spool_yield_wait(NULL, 0, 0, SPOOL_ALL_COMPLETED, &nd), SPOOL_OK);
  CHECK_EQ(nd, 0);
  spool_future_release(c[0]);
  spool_future_release(c[1]);
}

int main(void) {
  test_modes_one_worker();
  test_inline_first();
  test_timeout_resumes();
  test_no_cpu_while_waiting();
  test_asleep_in_progress();
  test_nested_at_cap();
  test_outside_and_arguments();
  harness_watchdog_off();
  return harness_report();
}
