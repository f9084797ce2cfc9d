/* Stress: threads switching among fibers and trading them.
 *
 * THREADS threads share one fiber source (each with its own cache) and a
 * board of slots holding suspended jobs. Each thread, on its own fiber,
 * takes a job from any slot (or starts a new one on a fresh fiber), writes
 * its id into the job, and resumes the job's fiber with itself as the
 * transfer value. The job checks that it was resumed by that thread (the
 * transfer value, and a fresh thread-local read), counts a round, and
 * suspends, handing itself back; the thread then puts it on the board,
 * where any thread may take it. After ROUNDS rounds a job abandons its
 * fiber, which the thread that ran it releases into its own cache.
 *
 * Counted: every job finishes exactly once with exactly ROUNDS rounds, no
 * job ever sees another thread's transfer, jobs did move between threads,
 * the live count ends at zero and the mmaps stay bounded. A wait that makes
 * no progress for 20 s fails loudly instead of hanging.
 *
 * Under ThreadSanitizer the hand-off is checked too: the board's release
 * and acquire are the only synchronisation between threads, and fiber.c
 * makes a switch into a fiber read what the switch out of it wrote. Built
 * with -DSTRESS_NEGATIVE_CONTROL, the board uses relaxed ordering instead,
 * and TSan must report a race (the meson suite runs that variant, expecting
 * failure, in TSan builds), so a clean run is known to mean something.
 *
 * SPOOL_STRESS_SCALE multiplies the rounds. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "fiber.h"

#define THREADS     3
#define LIVE_CAP    24 /* max_fibers: the cap is hit all the time */
#define SLOTS       32 /* more than LIVE_CAP: a publish always finds room */
#define JOBS        96
#define BASE_ROUNDS 6000

#ifdef STRESS_NEGATIVE_CONTROL
#define PUBLISH_ORDER memory_order_relaxed
#define TAKE_ORDER    memory_order_relaxed
#else
#define PUBLISH_ORDER memory_order_release
#define TAKE_ORDER    memory_order_acquire
#endif

typedef struct worker {
  int id;
  fiber home;
  fiber_cache cache;
  struct job *current;      /* the job being started: read by its fiber at once, on this thread */
  unsigned long wrong_back; /* switches home that did not hand back the job run */
} worker;

typedef struct job {
  fiber *fiber;
  /* Written by the thread that resumes the job, just before the switch;
     read by the job after it. Plain: TSan checks that the hand-off orders
     each write after the previous resumer's read. */
  int resumed_by;
  int last_thread; /* written and read by the job itself */
  unsigned rounds;
  unsigned wrong_transfer;
  unsigned wrong_thread_local;
  unsigned migrations;
  _Atomic(unsigned) finished; /* times finished: must end at 1 */
} job;

static fiber_source source;
static worker workers[THREADS];
static job jobs[JOBS];
static _Atomic(job *) board[SLOTS];
static _Atomic(unsigned) jobs_started, jobs_finished;
static unsigned rounds_per_job;

static _Thread_local int thread_id = -1;
static __attribute__((noinline)) int read_thread_id(void) {
  return thread_id;
}
/* Through a volatile pointer: called afresh after every switch. */
static int (*volatile thread_id_reader)(void) = read_thread_id;

static void publish(job *j, unsigned start) {
  for (unsigned i = 0;; i++) {
    job *expected = NULL;
    /* release: pairs with the acquire exchange in take(); orders the
       completed switch away from j->fiber, and our writes to j, before
       the slot */
    if (atomic_compare_exchange_strong_explicit(&board[(start + i) % SLOTS], &expected, j,
                                                PUBLISH_ORDER, memory_order_relaxed))
      return;
  }
}

static job *take(unsigned start) {
  for (unsigned i = 0; i < SLOTS; i++) {
    _Atomic(job *) *slot = &board[(start + i) % SLOTS];
    /* relaxed peek: skip empty slots without a read-modify-write */
    if (!atomic_load_explicit(slot, memory_order_relaxed)) continue;
    /* acquire: pairs with the release CAS in publish() */
    job *j = atomic_exchange_explicit(slot, NULL, TAKE_ORDER);
    if (j) return j;
  }
  return NULL;
}

static void job_entry(void *transfer) {
  worker *w = transfer;
  job *j = w->current;
  j->last_thread = w->id;
  while (j->rounds < rounds_per_job) {
    if (j->resumed_by != w->id) j->wrong_transfer++;
    if (thread_id_reader() != w->id) j->wrong_thread_local++;
    if (j->last_thread != w->id) j->migrations++;
    j->last_thread = w->id;
    j->rounds++;
    w = fiber_switch(j->fiber, &w->home, j);
  }
  atomic_fetch_add_explicit(&j->finished, 1, memory_order_relaxed);
  fiber_switch_abandon(j->fiber, &w->home, j);
}

/* A new job on a fresh fiber, or NULL at the cap or when all have started. */
static job *start_job(worker *w) {
  fiber *f = fiber_acquire(&w->cache, job_entry);
  if (!f) return NULL;
  unsigned n = atomic_load_explicit(&jobs_started, memory_order_relaxed);
  do {
    if (n == JOBS) {
      fiber_release(&w->cache, f);
      return NULL;
    }
  } while (!atomic_compare_exchange_weak_explicit(&jobs_started, &n, n + 1, memory_order_relaxed,
                                                  memory_order_relaxed));
  jobs[n].fiber = f;
  w->current = &jobs[n];
  return &jobs[n];
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static pthread_barrier_t all_started;

static void *worker_main(void *arg) {
  worker *w = arg;
  thread_id = w->id;
  fiber_init_thread(&w->home);
  fiber_cache_init(&w->cache, &source);
  pthread_barrier_wait(&all_started); /* so that all threads take part from the start */
  unsigned start = (unsigned)w->id * 7;
  double last_progress = now();
  unsigned idle = 0;
  /* relaxed: only a loop bound; each finish is also counted per job */
  while (atomic_load_explicit(&jobs_finished, memory_order_relaxed) < JOBS) {
    start = start * 1103515245u + 12345u; /* a different slot to start from each time */
    /* Half the time start a job first: so the live count climbs to the
       cap and acquires fail there, while all jobs are being started. */
    job *j = NULL;
    if (start & 0x10000) j = start_job(w);
    if (!j) j = take(start >> 8);
    if (!j) j = start_job(w);
    if (!j) {
      if (++idle % 1024 == 0 && now() - last_progress > 20.0) {
        CHECK(!"no progress for 20 s");
        break;
      }
      sched_yield();
      continue;
    }
    last_progress = now();
    j->resumed_by = w->id;
    job *back = fiber_switch(&w->home, j->fiber, w);
    if (back != j) w->wrong_back++;
    if (atomic_load_explicit(&j->finished, memory_order_relaxed)) {
      fiber_release(&w->cache, j->fiber); /* abandoned: released by the side that runs next */
      atomic_fetch_add_explicit(&jobs_finished, 1, memory_order_relaxed);
    } else {
      publish(j, start >> 8);
    }
  }
  fiber_cache_destroy(&w->cache);
  fiber_exit_thread(&w->home);
  return NULL;
}

int main(void) {
#ifdef SPOOL_FIBER_UCONTEXT
  printf("switch: ucontext\n");
#endif
  rounds_per_job = BASE_ROUNDS * check_stress_scale();
  if (fiber_source_init(&source, 32 << 10, LIVE_CAP) != 0) return 1;
  pthread_t threads[THREADS];
  pthread_barrier_init(&all_started, NULL, THREADS);
  for (int i = 0; i < THREADS; i++) {
    workers[i].id = i;
    if (!CHECK(pthread_create(&threads[i], NULL, worker_main, &workers[i]) == 0))
      return check_report();
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(threads[i], NULL);
  pthread_barrier_destroy(&all_started);
  unsigned long wrong_back = 0;
  for (int i = 0; i < THREADS; i++)
    wrong_back += workers[i].wrong_back;
  CHECK(wrong_back == 0);

  unsigned finished_once = 0, full_rounds = 0, wrong_transfer = 0, wrong_tls = 0;
  unsigned long migrations = 0;
  for (int i = 0; i < JOBS; i++) {
    finished_once += atomic_load(&jobs[i].finished) == 1;
    full_rounds += jobs[i].rounds == rounds_per_job;
    wrong_transfer += jobs[i].wrong_transfer;
    wrong_tls += jobs[i].wrong_thread_local;
    migrations += jobs[i].migrations;
  }
  CHECK(finished_once == JOBS);
  CHECK(full_rounds == JOBS);
  CHECK(wrong_transfer == 0);
  CHECK(wrong_tls == 0);
  CHECK(migrations > 0);
  fiber_source_counts n;
  fiber_source_get_counts(&source, &n);
  CHECK(n.live == 0);
  /* at most LIVE_CAP at once, plus what the caches and the pool kept */
  CHECK(n.maps <= LIVE_CAP + THREADS * FIBER_CACHE_BOUND + FIBER_POOL_BOUND);
  printf("%u jobs x %u rounds on %d threads, %lu migrations, %llu stacks mapped\n", JOBS,
         rounds_per_job, THREADS, migrations, (unsigned long long)n.maps);
  fiber_source_destroy(&source);
  return check_report();
}
