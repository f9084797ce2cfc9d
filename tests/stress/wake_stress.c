/* Sleep and wake-up: no wake-up may be lost.
 *
 * 1. Rounds in which every worker is asleep (checked in /proc: each worker
 *    thread is in state S) and one submission from outside must wake one.
 *    The wait for its result is bounded: a lost wake-up fails loudly
 *    instead of hanging.
 * 2. Rounds in which a task on a worker submits a child and waits for it
 *    with a finite timeout (so it does not run the child inline): only a
 *    sleeping worker, woken by the parent, can run it.
 * 3. Bursts from several outside threads with random pauses, so that
 *    workers fall asleep at every possible moment.
 * 4. Fire-and-forget bursts with join, from several threads at once.
 *
 * SPOOL_STRESS_SCALE multiplies the rounds. */
#include <dirent.h>
#include <pthread.h>
#include <string.h>

#include "stress.h"

#define WORKERS 4
#define PREFIX  "wks"

static spool_executor *ex;
static double wait_limit; /* seconds a result may take before it counts as lost */

/* ---- Are all workers asleep? ---------------------------------------------- */

/* Counts this process's threads named PREFIX-* and how many of them are
   sleeping (state S). */
static void worker_states(int *workers, int *sleeping) {
  *workers = *sleeping = 0;
  DIR *d = opendir("/proc/self/task");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* pid (comm) state ... */
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close || close[1] != ' ') continue;
    if (strncmp(open + 1, PREFIX "-", strlen(PREFIX) + 1) != 0) continue;
    (*workers)++;
    if (close[2] == 'S') (*sleeping)++;
  }
  closedir(d);
}

/* Waits until every worker sleeps; false if they never all do (an idle
   executor that keeps spinning). */
static bool await_all_asleep(double timeout) {
  double end = now_s() + timeout;
  for (;;) {
    int w, s;
    worker_states(&w, &s);
    if (w == WORKERS && s == WORKERS) return true;
    if (now_s() > end) {
      fprintf(stderr, "workers: %d found, %d asleep\n", w, s);
      return false;
    }
    sleep_s(0.0005);
  }
}

/* ---- Tasks ---------------------------------------------------------------- */

static int plus_one(void *arg, void **result) {
  *result = (void *)((intptr_t)arg + 1);
  return 0;
}

static atomic_long counted;

static int count_task(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_fetch_add_explicit(&counted, 1, memory_order_relaxed);
  return 0;
}

/* Submits a child and waits for it with a finite timeout: nothing runs
   inline, so another worker must wake up and take it. */
static int parent_waits_for_child(void *arg, void **result) {
  spool_future *f = NULL;
  int rc = spool_submit(ex, plus_one, arg, &f);
  if (rc != SPOOL_OK) return rc;
  rc = spool_future_result(f, wait_limit, result);
  spool_future_release(f);
  return rc;
}

/* ---- Phases --------------------------------------------------------------- */

static void phase_wake_from_outside(long rounds) {
  long not_asleep = 0, lost = 0;
  for (long r = 0; r < rounds; r++) {
    /* Every 4th round checks the full situation; the others are fast
       rounds where workers may be anywhere between spinning and asleep. */
    if (r % 4 == 0 && !await_all_asleep(5.0 * watchdog_slowdown())) not_asleep++;
    spool_future *f = NULL;
    VERIFY(spool_submit(ex, plus_one, (void *)(intptr_t)r, &f) == SPOOL_OK);
    void *res = NULL;
    double t0 = now_s();
    int rc = spool_future_result(f, wait_limit, &res);
    if (rc == SPOOL_ETIMEDOUT || stress_hit_limit(t0, wait_limit)) lost++;
    VERIFYF(rc == SPOOL_OK && (intptr_t)res == r + 1, "round %ld: rc %d", r, rc);
    spool_future_release(f);
  }
  CHECKF(not_asleep == 0, "%ld rounds where the workers never all went to sleep", not_asleep);
  CHECKF(lost == 0, "%ld submissions from outside never ran (lost wake-up)", lost);
}

static void phase_wake_from_worker(long rounds) {
  long lost = 0, not_asleep = 0;
  for (long r = 0; r < rounds; r++) {
    if (r % 4 == 0 && !await_all_asleep(5.0 * watchdog_slowdown())) not_asleep++;
    spool_future *f = NULL;
    VERIFY(spool_submit(ex, parent_waits_for_child, (void *)(intptr_t)r, &f) == SPOOL_OK);
    void *res = NULL;
    double t0 = now_s();
    int rc = spool_future_result(f, 2 * wait_limit, &res);
    if (rc == SPOOL_ETIMEDOUT || stress_hit_limit(t0, wait_limit)) lost++;
    VERIFYF(rc == SPOOL_OK && (intptr_t)res == r + 1, "round %ld: rc %d", r, rc);
    spool_future_release(f);
  }
  CHECKF(not_asleep == 0, "%ld rounds where the workers never all went to sleep", not_asleep);
  CHECKF(lost == 0, "%ld children pushed by a blocked worker never ran (lost wake-up)", lost);
}

typedef struct burster {
  uint64_t seed;
  long bursts;
  long lost, wrong;
} burster;

static void *burst_thread(void *arg) {
  burster *b = arg;
  spool_future *fs[64];
  intptr_t args[64];
  for (long i = 0; i < b->bursts; i++) {
    int n = 1 + (int)(stress_rand(&b->seed) % 64), ok = 0;
    for (int k = 0; k < n; k++) {
      if (spool_submit(ex, plus_one, (void *)(intptr_t)k, &fs[ok]) == SPOOL_OK)
        args[ok++] = k;
      else
        b->wrong++;
    }
    size_t nd = 0;
    double t0 = now_s();
    if (spool_wait(fs, (size_t)ok, wait_limit, SPOOL_ALL_COMPLETED, &nd) == SPOOL_ETIMEDOUT ||
        stress_hit_limit(t0, wait_limit))
      b->lost++;
    for (int k = 0; k < ok; k++) {
      void *res = NULL;
      if (spool_future_result(fs[k], 0, &res) != SPOOL_OK || (intptr_t)res != args[k] + 1)
        b->wrong++;
      spool_future_release(fs[k]);
    }
    /* a pause of 0 to ~200 us: long enough, sometimes, for workers to sleep */
    uint64_t p = stress_rand(&b->seed) % 8;
    if (p < 3) sleep_s((double)(stress_rand(&b->seed) % 200) * 1e-6);
    if (p == 3) sched_yield();
  }
  return NULL;
}

static void phase_bursts(long bursts_per_thread) {
  enum { T = 4 };
  burster b[T];
  pthread_t t[T];
  for (int i = 0; i < T; i++) {
    b[i] = (burster){0xABCDEFull * (uint64_t)(i + 1), bursts_per_thread, 0, 0};
    pthread_create(&t[i], NULL, burst_thread, &b[i]);
  }
  long lost = 0, wrong = 0;
  for (int i = 0; i < T; i++) {
    pthread_join(t[i], NULL);
    lost += b[i].lost;
    wrong += b[i].wrong;
  }
  CHECKF(lost == 0, "%ld bursts not completed in time (lost wake-up)", lost);
  CHECKF(wrong == 0, "%ld wrong or failed results", wrong);
}

typedef struct detacher {
  uint64_t seed;
  long rounds;
  long submitted;
  long timeouts;
} detacher;

static void *detach_thread(void *arg) {
  detacher *d = arg;
  for (long i = 0; i < d->rounds; i++) {
    int n = 1 + (int)(stress_rand(&d->seed) % 32);
    for (int k = 0; k < n; k++)
      if (spool_submit(ex, count_task, NULL, NULL) == SPOOL_OK) d->submitted++;
    double t0 = now_s();
    if (spool_join(ex, wait_limit) == SPOOL_ETIMEDOUT || stress_hit_limit(t0, wait_limit))
      d->timeouts++;
    if (stress_rand(&d->seed) % 4 == 0) sleep_s((double)(stress_rand(&d->seed) % 100) * 1e-6);
  }
  return NULL;
}

static void phase_detached(long rounds) {
  enum { T = 3 };
  detacher d[T];
  pthread_t t[T];
  atomic_store(&counted, 0);
  for (int i = 0; i < T; i++) {
    d[i] = (detacher){0x5151ull * (uint64_t)(i + 7), rounds, 0, 0};
    pthread_create(&t[i], NULL, detach_thread, &d[i]);
  }
  long submitted = 0, timeouts = 0;
  for (int i = 0; i < T; i++) {
    pthread_join(t[i], NULL);
    submitted += d[i].submitted;
    timeouts += d[i].timeouts;
  }
  CHECKF(timeouts == 0, "%ld joins ran into their timeout (lost wake-up of a joiner or a worker)",
         timeouts);
  CHECK(spool_join(ex, wait_limit) == SPOOL_OK);
  CHECKF(atomic_load(&counted) == submitted, "ran %ld of %ld", atomic_load(&counted), submitted);
}

/* One worker, and submissions timed at random around the moment it stops
   spinning and falls asleep: the window the sleep protocol's re-check
   closes. A lost wake-up leaves the task unrun. */
static void phase_single_worker_edges(long rounds) {
  spool_executor *one = NULL;
  spool_config c;
  spool_config_init(&c);
  c.workers = 1;
  if (!CHECK(spool_executor_create(&one, &c) == SPOOL_OK)) return;
  uint64_t rng = 4242;
  long lost = 0;
  double limit = 2.0 * watchdog_slowdown();
  for (long r = 0; r < rounds && lost == 0; r++) {
    spool_future *f = NULL;
    VERIFY(spool_submit(one, plus_one, (void *)(intptr_t)r, &f) == SPOOL_OK);
    double t0 = now_s();
    int rc = spool_future_result(f, limit, NULL);
    if (rc != SPOOL_OK || stress_hit_limit(t0, limit)) lost++;
    spool_future_release(f);
    /* 0 to 60 us: the worker is spinning, falling asleep, or asleep */
    double pause = (double)(stress_rand(&rng) % 60) * 1e-6;
    double until = now_s() + pause;
    while (now_s() < until)
      ;
  }
  CHECKF(lost == 0, "a submission to an idle single worker was not run (lost wake-up)");
  spool_executor_destroy(one);
}

int main(void) {
  wait_limit = 10.0 * watchdog_slowdown();
  spool_config c;
  spool_config_init(&c);
  c.workers = WORKERS;
  c.thread_name_prefix = PREFIX;
  if (!CHECK(spool_executor_create(&ex, &c) == SPOOL_OK)) return stress_report();

  long rounds = stress_budget(400);
  stress_phase("wake from outside, all workers asleep", 60 + (double)rounds);
  phase_wake_from_outside(rounds);
  stress_phase("wake by a worker that blocks", 60 + (double)rounds);
  phase_wake_from_worker(rounds);
  stress_phase("bursts from 4 threads", 120);
  phase_bursts(stress_budget(600));
  stress_phase("fire-and-forget bursts with join from 3 threads", 120);
  phase_detached(stress_budget(600));

  stress_phase("one worker, submissions at the edge of its sleep", 120);
  phase_single_worker_edges(stress_budget(20000));
  stress_phase("destroy", 30);
  spool_executor_destroy(ex);
  watchdog_disarm();
  return stress_report();
}
