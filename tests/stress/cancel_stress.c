/* Cancellation and shutdown races.
 *
 * 1. Tasks are submitted while another thread cancels them in random
 *    order and a third adds callbacks: every future ends exactly once,
 *    FINISHED (its task ran once) or CANCELLED (it never ran, and cancel
 *    said true); every callback runs exactly once, seeing the future done.
 * 2. shutdown(cancel_futures) from another thread races with submissions
 *    and with running tasks that submit children: every task either ran or
 *    was cancelled, fire-and-forget tasks ran or were dropped (and
 *    counted), nothing is left over (the ASan build checks leaks).
 * 3. cancel races with set_result on created futures: exactly one wins.
 *
 * SPOOL_STRESS_SCALE multiplies the task counts. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"

static double wait_limit;

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

/* A little work (up to `most` rounds of mix, a few ns each), so that
   tasks are caught running, queued and done. */
static void busy(uint64_t seed, uint64_t most) {
  volatile uint64_t x = seed;
  for (uint64_t i = 0, n = mix(seed) % most; i < n; i++)
    x = mix(x);
}

/* ---- 1. cancel + callbacks racing with the workers ------------------------- */

typedef struct slot {
  _Atomic(spool_future *) f; /* published by the submitter */
  atomic_int ran;
  atomic_int callbacks;
  atomic_int said_true, said_false; /* answers of spool_future_cancel() */
  atomic_int cb_saw_not_done;
} slot;

static slot *slots;
static long n_slots;
static pthread_barrier_t start; /* submitter, canceller, callback adder */

static int slot_task(void *arg, void **result) {
  slot *s = arg;
  atomic_fetch_add(&s->ran, 1);
  busy((uint64_t)(uintptr_t)s, 20000); /* slower than submitting */
  *result = s;
  return 0;
}

static void slot_callback(spool_future *f, void *user) {
  slot *s = user;
  if (!spool_future_done(f)) atomic_store(&s->cb_saw_not_done, 1);
  atomic_fetch_add(&s->callbacks, 1);
}

static spool_future *await_published(slot *s) {
  spool_future *f;
  while (!(f = atomic_load(&s->f)))
    sched_yield();
  return f;
}

static void *canceller(void *arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg;
  /* a random permutation, walked while the submitter is still going */
  long *order = malloc((size_t)n_slots * sizeof *order);
  for (long i = 0; i < n_slots; i++)
    order[i] = i;
  for (long i = n_slots - 1; i > 0; i--) {
    long j = (long)(stress_rand(&rng) % (uint64_t)(i + 1));
    long t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  pthread_barrier_wait(&start);
  /* cancel about two thirds: following the submitter, from the newest
     (likely still queued), and at random */
  for (long k = 0; k < n_slots; k++) {
    long i = k % 3 == 0 ? k : k % 3 == 1 ? n_slots - 1 - k : order[k];
    if (stress_rand(&rng) % 3 == 0) continue;
    slot *s = &slots[i];
    spool_future *f = await_published(s);
    /* a slot may be picked twice: both answers are checked */
    atomic_fetch_add(spool_future_cancel(f) ? &s->said_true : &s->said_false, 1);
  }
  free(order);
  return NULL;
}

static void *callback_adder(void *arg) {
  (void)arg;
  pthread_barrier_wait(&start);
  for (long i = n_slots - 1; i >= 0; i--) {
    spool_future *f = await_published(&slots[i]);
    VERIFY(spool_future_add_done_callback(f, slot_callback, &slots[i]) == SPOOL_OK);
  }
  return NULL;
}

static void phase_cancel_race(long n, unsigned workers, uint64_t seed) {
  n_slots = n;
  slots = calloc((size_t)n, sizeof *slots);
  spool_executor *ex = NULL;
  spool_config c;
  spool_config_init(&c);
  c.workers = workers;
  if (!CHECK(spool_executor_create(&ex, &c) == SPOOL_OK)) return;
  pthread_t tc, ta;
  pthread_barrier_init(&start, NULL, 3);
  pthread_create(&tc, NULL, canceller, (void *)(uintptr_t)seed);
  pthread_create(&ta, NULL, callback_adder, NULL);
  pthread_barrier_wait(&start);
  for (long i = 0; i < n; i++) {
    spool_future *f = NULL;
    VERIFY(spool_submit(ex, slot_task, &slots[i], &f) == SPOOL_OK);
    VERIFY(spool_future_add_done_callback(f, slot_callback, &slots[i]) == SPOOL_OK);
    atomic_store(&slots[i].f, f);
  }
  pthread_join(tc, NULL);
  pthread_join(ta, NULL);
  pthread_barrier_destroy(&start);
  spool_future **all = malloc((size_t)n * sizeof *all);
  for (long i = 0; i < n; i++)
    all[i] = slots[i].f;
  size_t nd = 0;
  CHECK(spool_wait(all, (size_t)n, wait_limit, SPOOL_ALL_COMPLETED, &nd) == SPOOL_OK);
  CHECK(nd == (size_t)n);
  /* callbacks of finished tasks have run once join returns */
  CHECK(spool_join(ex, wait_limit) == SPOOL_OK);

  long cancelled = 0, finished = 0, bad_state = 0, bad_cb = 0, cb_early = 0, bad_answer = 0;
  for (long i = 0; i < n; i++) {
    slot *s = &slots[i];
    spool_future *f = s->f;
    int ran = atomic_load(&s->ran);
    int said_true = atomic_load(&s->said_true), said_false = atomic_load(&s->said_false);
    void *res = NULL;
    int rc = spool_future_result(f, 0, &res);
    if (spool_future_cancelled(f)) {
      cancelled++;
      if (ran != 0 || rc != SPOOL_ECANCELLED || said_true == 0) bad_state++;
      if (said_false) bad_answer++; /* false, yet cancelled (only we cancel) */
    } else {
      finished++;
      if (ran != 1 || rc != SPOOL_OK || res != s || !spool_future_done(f)) bad_state++;
      if (said_true) bad_answer++; /* cancel said true, yet it ran */
    }
    if (atomic_load(&s->callbacks) != 2) {
      if (bad_cb++ < 5)
        fprintf(stderr, "slot %ld: %d callback calls, expected 2\n", i, atomic_load(&s->callbacks));
    }
    cb_early += atomic_load(&s->cb_saw_not_done);
  }
  CHECKF(bad_state == 0, "%ld futures in a state their task's runs contradict", bad_state);
  CHECKF(bad_answer == 0, "%ld futures whose state contradicts cancel's answer", bad_answer);
  CHECKF(bad_cb == 0, "%ld futures whose callbacks did not run exactly once each", bad_cb);
  CHECKF(cb_early == 0, "%ld callbacks saw their future not done", cb_early);
  CHECKF(cancelled + finished == n, "%ld + %ld != %ld", cancelled, finished, n);
  long answers_true = 0, answers_false = 0;
  for (long i = 0; i < n; i++) {
    answers_true += atomic_load(&slots[i].said_true);
    answers_false += atomic_load(&slots[i].said_false);
  }
  fprintf(stderr, "  %ld cancelled, %ld finished; cancel said true %ld, false %ld times\n",
          cancelled, finished, answers_true, answers_false);

  spool_stats st;
  CHECK(spool_stats_read(ex, -1, &st) == SPOOL_OK);
  CHECKF(st.tasks_run == (uint64_t)finished, "tasks_run %llu, finished %ld",
         (unsigned long long)st.tasks_run, finished);
  spool_executor_destroy(ex);
  for (long i = 0; i < n; i++)
    spool_future_release(slots[i].f);
  free(all);
  free(slots);
}

/* ---- 2. shutdown(cancel_futures) racing with everything -------------------- */

typedef struct sd_shared {
  spool_executor *ex;
  atomic_long detached_submitted, detached_ran;
  /* futures of children submitted by tasks, collected for the check */
  spool_future **kids;
  atomic_long nkids;
  long max_kids;
  atomic_long kid_ran, kid_refused;
} sd_shared;

static sd_shared sd;

typedef struct sd_task {
  atomic_int ran;
  int spawn; /* children to submit */
} sd_task;

static int sd_kid(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_fetch_add(&sd.kid_ran, 1);
  return 0;
}

static int sd_detached(void *arg, void **result) {
  (void)result;
  busy((uint64_t)(uintptr_t)arg, 3000);
  atomic_fetch_add(&sd.detached_ran, 1);
  return 0;
}

static int sd_run(void *arg, void **result) {
  (void)result;
  sd_task *t = arg;
  atomic_fetch_add(&t->ran, 1);
  busy((uint64_t)(uintptr_t)t, 3000);
  for (int k = 0; k < t->spawn; k++) {
    long i = atomic_fetch_add(&sd.nkids, 1);
    if (i >= sd.max_kids) {
      atomic_fetch_sub(&sd.nkids, 1);
      break;
    }
    spool_future *f = NULL;
    int rc = spool_submit(sd.ex, sd_kid, NULL, &f);
    if (rc == SPOOL_ESHUTDOWN) atomic_fetch_add(&sd.kid_refused, 1);
    VERIFY(rc == SPOOL_OK || rc == SPOOL_ESHUTDOWN);
    sd.kids[i] = f; /* NULL when refused */
  }
  return 0;
}

typedef struct sd_stopper {
  double delay;
  atomic_int done;
} sd_stopper;

static void *sd_stop(void *arg) {
  sd_stopper *s = arg;
  sleep_s(s->delay);
  VERIFY(spool_shutdown(sd.ex, false, true) == SPOOL_OK);
  atomic_store(&s->done, 1);
  return NULL;
}

static void phase_shutdown_race(long n, uint64_t seed) {
  uint64_t rng = seed;
  memset(&sd, 0, sizeof sd);
  sd.max_kids = n;
  sd.kids = calloc((size_t)n, sizeof *sd.kids);
  sd_task *tasks = calloc((size_t)n, sizeof *tasks);
  spool_future **fs = calloc((size_t)n, sizeof *fs);
  spool_config c;
  spool_config_init(&c);
  c.workers = 2 + (unsigned)(seed % 2);
  if (!CHECK(spool_executor_create(&sd.ex, &c) == SPOOL_OK)) return;

  sd_stopper stop = {(double)(stress_rand(&rng) % 3000) * 1e-6, 0};
  pthread_t ts;
  pthread_create(&ts, NULL, sd_stop, &stop);
  long accepted = 0, refused = 0, bad_rc = 0;
  for (long i = 0; i < n; i++) {
    tasks[i].spawn = (int)(stress_rand(&rng) % 3);
    int rc;
    if (i % 4 == 3) {
      rc = spool_submit(sd.ex, sd_detached, &tasks[i], NULL);
      if (rc == SPOOL_OK) atomic_fetch_add(&sd.detached_submitted, 1);
    } else {
      rc = spool_submit(sd.ex, sd_run, &tasks[i], &fs[i]);
      if (rc != SPOOL_OK && fs[i]) bad_rc++; /* out-parameter not NULL on failure */
    }
    if (rc == SPOOL_OK)
      accepted++;
    else if (rc == SPOOL_ESHUTDOWN)
      refused++;
    else
      bad_rc++;
  }
  pthread_join(ts, NULL);
  CHECK(atomic_load(&stop.done) == 1);
  spool_stats st;
  CHECK(spool_stats_read(sd.ex, -1, &st) == SPOOL_OK);
  CHECK(spool_shutdown(sd.ex, true, false) == SPOOL_OK);
  CHECK(spool_join(sd.ex, wait_limit) == SPOOL_OK);
  CHECKF(bad_rc == 0, "%ld submissions returned something other than OK or ESHUTDOWN", bad_rc);

  long cancelled = 0, finished = 0, bad = 0;
  for (long i = 0; i < n; i++) {
    if (!fs[i]) continue;
    int ran = atomic_load(&tasks[i].ran);
    if (!spool_future_done(fs[i]))
      bad++;
    else if (spool_future_cancelled(fs[i]))
      cancelled++, bad += ran != 0;
    else
      finished++, bad += ran != 1 || spool_future_exception(fs[i], 0) != SPOOL_OK;
  }
  long kids = atomic_load(&sd.nkids), kid_cancelled = 0, kid_finished = 0, kid_bad = 0;
  for (long i = 0; i < kids; i++) {
    spool_future *f = sd.kids[i];
    if (!f) continue;
    if (!spool_future_done(f))
      kid_bad++;
    else if (spool_future_cancelled(f))
      kid_cancelled++;
    else
      kid_finished++;
  }
  CHECKF(bad == 0, "%ld futures not done, or done against their runs", bad);
  CHECKF(kid_bad == 0, "%ld children not done after shutdown(wait)", kid_bad);
  CHECKF(kid_finished == atomic_load(&sd.kid_ran), "children: %ld finished, %ld ran", kid_finished,
         atomic_load(&sd.kid_ran));
  long dsub = atomic_load(&sd.detached_submitted), dran = atomic_load(&sd.detached_ran);
  CHECKF(dran <= dsub, "%ld detached ran of %ld", dran, dsub);

  spool_stats after;
  CHECK(spool_stats_read(sd.ex, -1, &after) == SPOOL_OK);
  /* every dropped fire-and-forget task is counted as cancelled */
  CHECKF(after.cancelled >= (uint64_t)(dsub - dran), "cancelled %llu < dropped %ld",
         (unsigned long long)after.cancelled, dsub - dran);
  CHECKF(after.cancelled <= (uint64_t)(dsub - dran + cancelled + kid_cancelled),
         "cancelled %llu counts more than was cancelled", (unsigned long long)after.cancelled);
  static long printed;
  if (printed++ < 3)
    fprintf(stderr, "  %ld+%ld cancelled, %ld+%ld finished, %ld of %ld detached ran\n", cancelled,
            kid_cancelled, finished, kid_finished, dran, dsub);
  CHECKF(after.tasks_run == (uint64_t)(finished + kid_finished + dran), "tasks_run %llu, ran %ld",
         (unsigned long long)after.tasks_run, finished + kid_finished + dran);
  (void)st;

  spool_executor_destroy(sd.ex);
  for (long i = 0; i < n; i++)
    spool_future_release(fs[i]);
  for (long i = 0; i < kids; i++)
    spool_future_release(sd.kids[i]);
  free(fs);
  free(tasks);
  free(sd.kids);
  (void)accepted;
  (void)refused;
}

/* ---- 3. cancel versus set_result on created futures ------------------------ */

typedef struct duel {
  spool_future *f;
  atomic_int go;
  bool set_ok;
  atomic_int callbacks;
} duel;

static void duel_callback(spool_future *f, void *user) {
  (void)f;
  atomic_fetch_add(&((duel *)user)->callbacks, 1);
}

static void *duel_setter(void *arg) {
  duel *d = arg;
  while (!atomic_load(&d->go))
    ;
  d->set_ok = spool_future_set_result(d->f, d) == SPOOL_OK;
  return NULL;
}

static void phase_created_duels(long rounds) {
  long both = 0, neither = 0, bad_cb = 0, bad_result = 0;
  for (long r = 0; r < rounds; r++) {
    duel d = {.set_ok = false};
    VERIFY(spool_future_create(&d.f) == SPOOL_OK);
    VERIFY(spool_future_add_done_callback(d.f, duel_callback, &d) == SPOOL_OK);
    pthread_t t;
    pthread_create(&t, NULL, duel_setter, &d);
    atomic_store(&d.go, 1);
    bool cancelled = spool_future_cancel(d.f);
    pthread_join(t, NULL);
    both += cancelled && d.set_ok;
    neither += !cancelled && !d.set_ok;
    bad_cb += atomic_load(&d.callbacks) != 1;
    void *res = NULL;
    int rc = spool_future_result(d.f, 0, &res);
    if (cancelled ? rc != SPOOL_ECANCELLED : (rc != SPOOL_OK || res != &d)) bad_result++;
    spool_future_release(d.f);
  }
  CHECKF(both == 0, "%ld futures both cancelled and set", both);
  CHECKF(neither == 0, "%ld futures neither cancelled nor set", neither);
  CHECKF(bad_cb == 0, "%ld futures whose callback did not run exactly once", bad_cb);
  CHECKF(bad_result == 0, "%ld futures whose outcome disagrees with the winner", bad_result);
}

/* ---- 4. cancel versus inline claims --------------------------------------- */

/* Parents submit children and wait for them with SPOOL_FOREVER (so they
   claim and run queued children inline) while an outside thread cancels
   the same children: each child is claimed once, by a worker, by its
   waiting parent, or by the cancel. */
#define KIDS_PER_PARENT 8

typedef struct family {
  spool_executor *ex;
  _Atomic(spool_future *) kids[KIDS_PER_PARENT];
  atomic_int kid_ran[KIDS_PER_PARENT];
  atomic_int published; /* by the parent: its children are queued */
  atomic_int go;        /* by the canceller: both start now */
  int wait_rc;
} family;

static int kid_task(void *arg, void **result) {
  atomic_fetch_add((atomic_int *)arg, 1);
  *result = arg;
  return 0;
}

static int parent_task(void *arg, void **result) {
  (void)result;
  family *fam = arg;
  spool_future *fs[KIDS_PER_PARENT];
  for (int k = 0; k < KIDS_PER_PARENT; k++) {
    if (spool_submit(fam->ex, kid_task, &fam->kid_ran[k], &fs[k]) != SPOOL_OK) return -1;
    spool_future_retain(fs[k]); /* one for the canceller's side, released by the test */
    atomic_store(&fam->kids[k], fs[k]);
  }
  atomic_store(&fam->published, 1);
  /* spin, then let the canceller have the CPU (two cores, more threads) */
  for (long spins = 0; !atomic_load(&fam->go); spins++)
    if (spins > 2000 || test_under_valgrind()) sched_yield();
  /* claims the children inline from the first, while the canceller
     cancels from the last */
  fam->wait_rc = spool_wait(fs, KIDS_PER_PARENT, SPOOL_FOREVER, SPOOL_ALL_COMPLETED, NULL);
  for (int k = 0; k < KIDS_PER_PARENT; k++)
    spool_future_release(fs[k]);
  return 0;
}

typedef struct family_canceller {
  family *fams;
  long n;
  uint64_t seed;
} family_canceller;

static void *cancel_families(void *arg) {
  family_canceller *fc = arg;
  for (long i = 0; i < fc->n; i++) {
    family *fam = &fc->fams[i];
    while (!atomic_load(&fam->published))
      sched_yield();
    atomic_store(&fam->go, 1);
    for (int k = KIDS_PER_PARENT - 1; k >= 0; k--)
      if (stress_rand(&fc->seed) % 4 != 0) spool_future_cancel(atomic_load(&fam->kids[k]));
  }
  return NULL;
}

static void phase_cancel_vs_inline(long parents) {
  spool_executor *ex = NULL;
  spool_config c;
  spool_config_init(&c);
  c.workers = 2;
  if (!CHECK(spool_executor_create(&ex, &c) == SPOOL_OK)) return;
  family *fams = calloc((size_t)parents, sizeof *fams);
  spool_future **pf = calloc((size_t)parents, sizeof *pf);
  family_canceller fc = {fams, parents, 777};
  pthread_t t;
  pthread_create(&t, NULL, cancel_families, &fc);
  long bad = 0, cancelled = 0, ran = 0;
  for (long i = 0; i < parents; i++) {
    fams[i].ex = ex;
    fams[i].wait_rc = 1;
    VERIFY(spool_submit(ex, parent_task, &fams[i], &pf[i]) == SPOOL_OK);
  }
  pthread_join(t, NULL);
  for (long i = 0; i < parents; i++) {
    VERIFY(spool_future_result(pf[i], wait_limit, NULL) == SPOOL_OK);
    if (fams[i].wait_rc != SPOOL_OK) bad++;
    for (int k = 0; k < KIDS_PER_PARENT; k++) {
      spool_future *f = atomic_load(&fams[i].kids[k]);
      int r = atomic_load(&fams[i].kid_ran[k]);
      if (!f || !spool_future_done(f)) {
        bad++;
        continue;
      }
      if (spool_future_cancelled(f)) {
        cancelled++;
        bad += r != 0;
      } else {
        ran++;
        void *res = NULL;
        bad += r != 1 || spool_future_result(f, 0, &res) != SPOOL_OK || res != &fams[i].kid_ran[k];
      }
      spool_future_release(f);
    }
    spool_future_release(pf[i]);
  }
  CHECKF(bad == 0, "%ld children claimed twice or not at all, or parents failing", bad);
  CHECK(spool_join(ex, wait_limit) == SPOOL_OK);
  fprintf(stderr, "  children: %ld cancelled, %ld ran\n", cancelled, ran);
  spool_executor_destroy(ex);
  free(fams);
  free(pf);
}

int main(void) {
  wait_limit = 20.0 * watchdog_slowdown();
  long n = stress_budget(20000);
  for (int round = 0; round < 3; round++) {
    stress_phase("cancel racing with workers and callbacks", 120);
    phase_cancel_race(n / 3, 2 + (unsigned)round % 2, 17 + (uint64_t)round);
  }
  long rounds = stress_budget(40);
  stress_phase("shutdown(cancel_futures) racing with submissions and tasks", 60 + (double)rounds);
  for (long r = 0; r < rounds; r++)
    phase_shutdown_race(2000, 1000 + (uint64_t)r);
  stress_phase("cancel versus inline claims", 120);
  phase_cancel_vs_inline(stress_budget(1500));
  stress_phase("cancel versus set_result", 120);
  phase_created_duels(stress_budget(2000));
  watchdog_disarm();
  return stress_report();
}
