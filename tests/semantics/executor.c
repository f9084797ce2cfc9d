/* The executor: creation, workers, initializer, identity, statistics,
 * destroy, NULL arguments, and an idle executor's CPU use. */
#include "sanitizers.h"
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_spawn.h"
#include "suite.h"

SPOOL_SUITE(executor);

static int allowed_cpus(void) {
  cpu_set_t set;
  cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
  return CPU_COUNT(&set);
}

Test(executor, create_with_null_config_and_destroy) {
  spool_executor *ex = (spool_executor *)&ex; /* must be overwritten */
  cr_assert_eq(spool_executor_create(&ex, NULL), SPOOL_OK);
  cr_assert_not_null(ex);
  cr_assert_geq(spool_executor_workers(ex), 1u);
  spool_executor_destroy(ex);
}

Test(executor, default_workers_is_allowed_cpu_count) {
  spool_executor *ex = NULL;
  cr_assert_eq(spool_executor_create(&ex, NULL), SPOOL_OK);
  cr_assert_eq((int)spool_executor_workers(ex), allowed_cpus(),
               "default worker count %u, but the affinity mask allows %d CPUs",
               spool_executor_workers(ex), allowed_cpus());
  spool_executor_destroy(ex);

  spool_config c;
  spool_config_init(&c);
  c.workers = 0; /* explicitly "the default" */
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  cr_assert_eq((int)spool_executor_workers(ex), allowed_cpus());
  spool_executor_destroy(ex);
}

/* Like `taskset -c N prog`: a program whose only thread is restricted to
   one CPU gets a default executor of one worker. (A fresh program started
   with posix_spawn, not a fork of this multi-threaded one, so the test runs
   under the sanitizers too.) */
Test(executor, default_workers_follow_a_one_cpu_affinity_mask) {
  cpu_set_t set;
  cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &set))
    cpu++;
  char arg[16];
  snprintf(arg, sizeof arg, "%d", cpu);
  const char *args[] = {"one-cpu", arg, NULL};
  int status = 0;
  char err[1024];
  cr_assert(spawn_child_helper(args, &status, err, sizeof err), "cannot run the child helper");
  cr_assert(WIFEXITED(status), "child status %#x; stderr: %s", status, err);
  cr_assert_eq(WEXITSTATUS(status), 1, "child restricted to CPU %d got %d workers (or failed)", cpu,
               WEXITSTATUS(status));
}

Test(executor, explicit_worker_count) {
  for (unsigned n = 1; n <= 5; n += 2) {
    spool_executor *ex = executor_with(n);
    cr_assert_not_null(ex);
    cr_assert_eq(spool_executor_workers(ex), n);
    spool_executor_destroy(ex);
  }
  cr_assert_eq(spool_executor_workers(NULL), 0u);
}

/* ---- Initializer --------------------------------------------------------- */

#define INIT_WORKERS 4
static atomic_long init_calls;
static spool_executor *init_seen_ex[INIT_WORKERS];
static pthread_t init_thread[INIT_WORKERS];
static atomic_int init_done[INIT_WORKERS];
static atomic_long init_bad_index;

static int record_initializer(void *arg) {
  int i = spool_current_worker();
  if (i < 0 || i >= INIT_WORKERS || arg != (void *)&init_calls) {
    atomic_fetch_add(&init_bad_index, 1);
    return 0;
  }
  init_seen_ex[i] = spool_current_executor();
  init_thread[i] = pthread_self();
  atomic_store(&init_done[i], 1);
  atomic_fetch_add(&init_calls, 1);
  return 0;
}

static atomic_long tasks_before_init, tasks_on_wrong_thread, tasks_seen;

static int check_initialized(void *arg, void **result) {
  (void)arg;
  (void)result;
  int i = spool_current_worker();
  if (i < 0 || i >= INIT_WORKERS || !atomic_load(&init_done[i]))
    atomic_fetch_add(&tasks_before_init, 1);
  else if (!pthread_equal(init_thread[i], pthread_self()))
    atomic_fetch_add(&tasks_on_wrong_thread, 1);
  atomic_fetch_add(&tasks_seen, 1);
  return 0;
}

Test(executor, initializer_runs_on_each_worker_before_any_task) {
  spool_config c;
  spool_config_init(&c);
  c.workers = INIT_WORKERS;
  c.initializer = record_initializer;
  c.initarg = &init_calls;
  spool_executor *ex = NULL;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  /* create waits for every initializer */
  cr_assert_eq(atomic_load(&init_calls), INIT_WORKERS);
  cr_assert_eq(atomic_load(&init_bad_index), 0, "initializer saw a bad worker index or arg");
  for (int i = 0; i < INIT_WORKERS; i++) {
    cr_assert_eq(init_seen_ex[i], ex, "worker %d: spool_current_executor() in the initializer", i);
    for (int j = 0; j < i; j++)
      cr_assert(!pthread_equal(init_thread[i], init_thread[j]), "workers %d and %d share a thread",
                i, j);
  }
  for (int i = 0; i < 400; i++)
    cr_assert_eq(spool_submit(ex, check_initialized, NULL, NULL), SPOOL_OK);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&tasks_seen), 400);
  cr_assert_eq(atomic_load(&tasks_before_init), 0);
  cr_assert_eq(atomic_load(&tasks_on_wrong_thread), 0);
  spool_executor_destroy(ex);
}

static atomic_long failing_calls;

static int fail_on_worker_one(void *arg) {
  (void)arg;
  atomic_fetch_add(&failing_calls, 1);
  return spool_current_worker() == 1 ? -1 : 0;
}

static int fail_always(void *arg) {
  (void)arg;
  atomic_fetch_add(&failing_calls, 1);
  return 42;
}

Test(executor, failing_initializer_is_broken) {
  spool_config c;
  spool_config_init(&c);
  c.workers = 3;
  c.initializer = fail_on_worker_one;
  spool_executor *ex = (spool_executor *)&c;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_EBROKEN);
  cr_assert_null(ex);
  /* It waited for every worker's initializer, not just the failing one. */
  cr_assert_eq(atomic_load(&failing_calls), 3);

  atomic_store(&failing_calls, 0);
  c.initializer = fail_always;
  ex = (spool_executor *)&c;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_EBROKEN);
  cr_assert_null(ex);
  cr_assert_eq(atomic_load(&failing_calls), 3);

  /* The process is still able to make a working executor. */
  c.initializer = NULL;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  void *r = NULL;
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(ex, task_return_arg, &c, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, &r), SPOOL_OK);
  cr_assert_eq(r, &c);
  spool_future_release(f);
  spool_executor_destroy(ex);
}

/* ---- Identity ------------------------------------------------------------ */

typedef struct identity {
  spool_executor *ex;
  int worker;
} identity;

static int record_identity(void *arg, void **result) {
  (void)result;
  identity *id = arg;
  id->ex = spool_current_executor();
  id->worker = spool_current_worker();
  return 0;
}

Test(executor, current_executor_and_worker) {
  cr_assert_null(spool_current_executor());
  cr_assert_eq(spool_current_worker(), -1);
  spool_executor *ex = executor_with(3);
  cr_assert_not_null(ex);
  identity ids[64];
  spool_future *fs[64];
  for (int i = 0; i < 64; i++) {
    ids[i] = (identity){NULL, -2};
    cr_assert_eq(spool_submit(ex, record_identity, &ids[i], &fs[i]), SPOOL_OK);
  }
  for (int i = 0; i < 64; i++) {
    cr_assert_eq(spool_future_result(fs[i], SPOOL_FOREVER, NULL), SPOOL_OK);
    cr_assert_eq(ids[i].ex, ex);
    cr_assert(ids[i].worker >= 0 && ids[i].worker < 3, "worker index %d", ids[i].worker);
    spool_future_release(fs[i]);
  }
  cr_assert_null(spool_current_executor());
  cr_assert_eq(spool_current_worker(), -1);
  spool_executor_destroy(ex);
}

/* A worker of another executor is "outside" for this one. */
static int identity_in_other_executor(void *arg, void **result) {
  (void)result;
  identity *id = arg;
  spool_executor *inner = id->ex;
  spool_future *f = NULL;
  id->ex = NULL;
  if (spool_submit(inner, record_identity, id, &f) != SPOOL_OK) return -1;
  int rc = spool_future_result(f, SPOOL_FOREVER, NULL);
  spool_future_release(f);
  return rc;
}

Test(executor, tasks_of_two_executors_see_their_own) {
  spool_executor *a = executor_with(1), *b = executor_with(2);
  cr_assert(a && b);
  identity id = {b, -2};
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(a, identity_in_other_executor, &id, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(id.ex, b);
  cr_assert(id.worker == 0 || id.worker == 1);
  spool_future_release(f);
  spool_executor_destroy(a);
  spool_executor_destroy(b);
}

static int record_thread_name(void *arg, void **result) {
  (void)result;
  return pthread_getname_np(pthread_self(), arg, 16) == 0 ? 0 : -1;
}

Test(executor, worker_threads_are_named_with_the_prefix) {
  spool_config c;
  spool_config_init(&c);
  c.workers = 1;
  c.thread_name_prefix = "tnp";
  spool_executor *ex = NULL;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  char name[16] = "";
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(ex, record_thread_name, name, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(strncmp(name, "tnp", 3), 0, "worker thread named \"%s\"", name);
  spool_future_release(f);
  spool_executor_destroy(ex);

  spool_config_init(&c);
  c.workers = 1;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  cr_assert_eq(spool_submit(ex, record_thread_name, name, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(strncmp(name, "spool", 5), 0, "worker thread named \"%s\"", name);
  spool_future_release(f);
  spool_executor_destroy(ex);
}

/* ---- Bad configuration given by the program ------------------------------ */

Test(executor, invalid_config_fields) {
  spool_config c;
  spool_executor *ex;

  spool_config_init(&c);
  c.max_fibers = 0;
  ex = (spool_executor *)&c;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_EINVAL);
  cr_assert_null(ex);

  spool_config_init(&c);
  c.fiber_stack_size = 16 * 1024 - 1;
  ex = (spool_executor *)&c;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_EINVAL);
  cr_assert_null(ex);

  spool_config_init(&c);
  c.reserved[3] = &c;
  ex = (spool_executor *)&c;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_EINVAL);
  cr_assert_null(ex);

  /* The limits themselves are fine. */
  spool_config_init(&c);
  c.workers = 1;
  c.max_fibers = 1;
  c.fiber_stack_size = 16 * 1024;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  spool_executor_destroy(ex);
}

/* ---- NULL and NaN -------------------------------------------------------- */

static void ignore_callback(spool_future *f, void *user) {
  (void)f;
  (void)user;
}

Test(executor, null_arguments) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  spool_future *f = (spool_future *)&ex;
  void *r = &r;

  cr_assert_eq(spool_executor_create(NULL, NULL), SPOOL_EINVAL);
  cr_assert_eq(spool_submit(NULL, task_return_arg, NULL, &f), SPOOL_EINVAL);
  cr_assert_null(f);
  f = (spool_future *)&ex;
  cr_assert_eq(spool_submit(ex, NULL, NULL, &f), SPOOL_EINVAL);
  cr_assert_null(f);
  cr_assert_eq(spool_submit(ex, NULL, NULL, NULL), SPOOL_EINVAL);
  cr_assert_eq(spool_join(NULL, 0), SPOOL_EINVAL);
  cr_assert_eq(spool_shutdown(NULL, false, false), SPOOL_EINVAL);
  cr_assert_eq(spool_shutdown(NULL, true, true), SPOOL_EINVAL);
  cr_assert_eq(spool_executor_workers(NULL), 0u);

  cr_assert_eq(spool_future_result(NULL, 0, &r), SPOOL_EINVAL);
  cr_assert_null(r);
  cr_assert_eq(spool_future_result(NULL, SPOOL_FOREVER, NULL), SPOOL_EINVAL);
  cr_assert_eq(spool_future_exception(NULL, SPOOL_FOREVER), SPOOL_EINVAL);
  cr_assert(!spool_future_cancel(NULL));
  cr_assert(!spool_future_cancelled(NULL));
  cr_assert(!spool_future_running(NULL));
  cr_assert(!spool_future_done(NULL));
  cr_assert_eq(spool_future_add_done_callback(NULL, ignore_callback, NULL), SPOOL_EINVAL);
  cr_assert_null(spool_future_executor(NULL));
  cr_assert_eq(spool_future_create(NULL), SPOOL_EINVAL);
  cr_assert_eq(spool_future_set_result(NULL, NULL), SPOOL_EINVAL);
  cr_assert_eq(spool_future_set_exception(NULL, -1), SPOOL_EINVAL);
  spool_future_release(NULL);   /* no-op */
  spool_executor_destroy(NULL); /* no-op */

  spool_future *g = NULL;
  cr_assert_eq(spool_future_create(&g), SPOOL_OK);
  cr_assert_eq(spool_future_add_done_callback(g, NULL, NULL), SPOOL_EINVAL);

  size_t nd = 99;
  cr_assert_eq(spool_wait(NULL, 1, 0, SPOOL_ALL_COMPLETED, &nd), SPOOL_EINVAL);
  spool_future *with_null[2] = {g, NULL};
  cr_assert_eq(spool_wait(with_null, 2, 0, SPOOL_ALL_COMPLETED, &nd), SPOOL_EINVAL);

  spool_as_completed *it = (spool_as_completed *)&ex;
  cr_assert_eq(spool_as_completed_begin(NULL, &g, 1), SPOOL_EINVAL);
  cr_assert_eq(spool_as_completed_begin(&it, NULL, 1), SPOOL_EINVAL);
  cr_assert_null(it);
  it = (spool_as_completed *)&ex;
  cr_assert_eq(spool_as_completed_begin(&it, with_null, 2), SPOOL_EINVAL);
  cr_assert_null(it);
  spool_future *next = g;
  cr_assert_eq(spool_as_completed_next(NULL, 0, &next), SPOOL_EINVAL);
  cr_assert_null(next);

  cr_assert_eq(spool_yield_until_done(NULL, 1), SPOOL_EINVAL);
  cr_assert_eq(spool_future_yield_until_done(NULL), SPOOL_EINVAL);
  cr_assert_eq(spool_run(NULL, task_return_arg, NULL, &r), SPOOL_EINVAL);
  cr_assert_eq(spool_run(ex, NULL, NULL, &r), SPOOL_EINVAL);

  spool_stats st;
  cr_assert_eq(spool_stats_read(NULL, -1, &st), SPOOL_EINVAL);
  cr_assert_eq(spool_stats_read(ex, -1, NULL), SPOOL_EINVAL);

  cr_assert_not_null(spool_strerror(0));
  spool_future_release(g);
  spool_executor_destroy(ex);
}

Test(executor, nan_timeout_is_invalid) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  spool_future *g = NULL;
  cr_assert_eq(spool_future_create(&g), SPOOL_OK);
  void *r = &r;
  cr_assert_eq(spool_future_result(g, NAN, &r), SPOOL_EINVAL);
  cr_assert_null(r);
  cr_assert_eq(spool_future_exception(g, NAN), SPOOL_EINVAL);
  size_t nd = 7;
  cr_assert_eq(spool_wait(&g, 1, NAN, SPOOL_ALL_COMPLETED, &nd), SPOOL_EINVAL);
  cr_assert_eq(spool_wait(&g, 1, NAN, SPOOL_FIRST_COMPLETED, &nd), SPOOL_EINVAL);
  cr_assert_eq(spool_join(ex, NAN), SPOOL_EINVAL);
  spool_as_completed *it = NULL;
  cr_assert_eq(spool_as_completed_begin(&it, &g, 1), SPOOL_OK);
  spool_future *next = g;
  cr_assert_eq(spool_as_completed_next(it, NAN, &next), SPOOL_EINVAL);
  cr_assert_null(next);
  spool_as_completed_end(it);
  /* Still pending: none of the above waited or completed anything. */
  cr_assert(!spool_future_done(g));
  /* NaN of the other sign too. */
  cr_assert_eq(spool_future_result(g, -NAN, NULL), SPOOL_EINVAL);
  spool_future_release(g);
  spool_executor_destroy(ex);
}

/* ---- Statistics ---------------------------------------------------------- */

Test(executor, stats_count_tasks_run) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  spool_stats st;
  cr_assert_eq(spool_stats_read(ex, -1, &st), SPOOL_OK);
  cr_assert_eq(st.tasks_run, 0u);

  atomic_long count = 0;
  spool_future *fs[100];
  for (int i = 0; i < 100; i++)
    cr_assert_eq(spool_submit(ex, task_count, &count, &fs[i]), SPOOL_OK);
  for (int i = 0; i < 50; i++)
    cr_assert_eq(spool_submit(ex, task_count, &count, NULL), SPOOL_OK);
  cr_assert_eq(spool_wait(fs, 100, SPOOL_FOREVER, SPOOL_ALL_COMPLETED, NULL), SPOOL_OK);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&count), 150);

  cr_assert_eq(spool_stats_read(ex, -1, &st), SPOOL_OK);
  cr_assert_eq(st.tasks_run, 150u);
  spool_stats w0, w1;
  cr_assert_eq(spool_stats_read(ex, 0, &w0), SPOOL_OK);
  cr_assert_eq(spool_stats_read(ex, 1, &w1), SPOOL_OK);
  cr_assert_eq(w0.tasks_run + w1.tasks_run, 150u);
  cr_assert_geq(st.seconds_asleep, 0.0);

  cr_assert_eq(spool_stats_read(ex, 2, &st), SPOOL_EINVAL);
  cr_assert_eq(spool_stats_read(ex, -2, &st), SPOOL_EINVAL);
  cr_assert_eq(spool_stats_read(ex, 1 << 30, &st), SPOOL_EINVAL);
  for (int i = 0; i < 100; i++)
    spool_future_release(fs[i]);
  spool_executor_destroy(ex);
}

/* ---- Idle ---------------------------------------------------------------- */

Test(executor, idle_executor_uses_no_cpu) {
  spool_executor *ex = NULL;
  cr_assert_eq(spool_executor_create(&ex, NULL), SPOOL_OK);
  /* Wake every worker once, then let them go idle. */
  atomic_long count = 0;
  for (int i = 0; i < 1000; i++)
    cr_assert_eq(spool_submit(ex, task_count, &count, NULL), SPOOL_OK);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert_eq(atomic_load(&count), 1000);
  sleep_s(0.1); /* past any spinning phase; the measurement below decides */
  double cpu0 = process_cpu_s(), t0 = now_s();
  sleep_s(0.5);
  double cpu = process_cpu_s() - cpu0, wall = now_s() - t0;
  cr_assert_lt(cpu, 0.05, "an idle executor (%u workers) used %.3f s of CPU in %.3f s",
               spool_executor_workers(ex), cpu, wall);
  spool_executor_destroy(ex);
}

/* ---- Destroy ------------------------------------------------------------- */

static void count_callback(spool_future *f, void *user) {
  (void)f;
  atomic_fetch_add((atomic_long *)user, 1);
}

Test(executor, destroy_keeps_held_futures_valid) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  static int value;
  spool_future *f = NULL, *failing = NULL;
  cr_assert_eq(spool_submit(ex, task_return_arg, &value, &f), SPOOL_OK);
  cr_assert_eq(spool_submit(ex, task_return_code, (void *)(intptr_t)-5, &failing), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert_eq(spool_future_executor(f), ex);
  spool_executor_destroy(ex);

  cr_assert_null(spool_future_executor(f));
  cr_assert_null(spool_future_executor(failing));
  cr_assert(spool_future_done(f));
  cr_assert(!spool_future_running(f));
  cr_assert(!spool_future_cancelled(f));
  cr_assert(!spool_future_cancel(f));
  void *r = NULL;
  cr_assert_eq(spool_future_result(f, 0, &r), SPOOL_OK);
  cr_assert_eq(r, &value);
  cr_assert_eq(spool_future_exception(failing, SPOOL_FOREVER), -5);
  /* A callback added now runs at once, executor or not. */
  atomic_long calls = 0;
  cr_assert_eq(spool_future_add_done_callback(f, count_callback, &calls), SPOOL_OK);
  cr_assert_eq(atomic_load(&calls), 1);
  spool_future_release(f);
  spool_future_release(failing);
}

/* Destroy is shutdown(wait): tasks still queued run, none leaks (the ASan
   build checks leaks), and fire-and-forget items are freed. */
Test(executor, destroy_runs_what_is_queued) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  blocker b;
  blocker_init(&b, NULL);
  spool_future *bf = NULL;
  cr_assert_eq(spool_submit(ex, task_block, &b, &bf), SPOOL_OK);
  cr_assert(await_at_least(&b.started, 1, TEST_SETTLE_S));
  atomic_long count = 0;
  spool_future *fs[100];
  for (int i = 0; i < 100; i++) {
    cr_assert_eq(spool_submit(ex, task_count, &count, &fs[i]), SPOOL_OK);
    cr_assert_eq(spool_submit(ex, task_count, &count, NULL), SPOOL_OK);
  }
  cr_assert_eq(atomic_load(&count), 0, "the only worker is blocked, yet tasks ran");
  blocker_release(&b);
  spool_executor_destroy(ex);
  cr_assert_eq(atomic_load(&count), 200);
  for (int i = 0; i < 100; i++) {
    cr_assert(spool_future_done(fs[i]));
    cr_assert_eq(spool_future_exception(fs[i], 0), SPOOL_OK);
    cr_assert_null(spool_future_executor(fs[i]));
    spool_future_release(fs[i]);
  }
  cr_assert_eq(spool_future_result(bf, 0, NULL), SPOOL_OK);
  spool_future_release(bf);
  blocker_destroy(&b);
}

/* ---- Misuse that cannot be reported -------------------------------------- */

/* Destroying an executor from one of its own tasks prints one line naming
   the problem and aborts (in a child program, whose stderr is checked;
   started with posix_spawn, so the test runs under the sanitizers too). */
Test(executor, destroy_from_own_task_aborts_with_a_message) {
  const char *args[] = {"destroy-own", NULL};
  int status = 0;
  char buf[1024];
  cr_assert(spawn_child_helper(args, &status, buf, sizeof buf), "cannot run the child helper");
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
            "the child was not aborted (status %#x); stderr: %s", status, buf);
  cr_assert_not_null(strstr(buf, "spool_executor_destroy"), "stderr: %s", buf);
  /* one line */
  char *nl = strchr(buf, '\n');
  cr_assert(nl && nl[1] == '\0', "not exactly one line: %s", buf);
}
