/* spool_for and spool_map: parallel loops over fork-join frames, split
 * lazily.
 *
 * A worker runs its range [lo, hi) piece by piece: it calls the body on
 * `chunk` indices at a time, and before each piece it asks whether another
 * worker wants work. If one does, it cuts the rest of its range at the
 * piece boundary nearest the middle, forks the right half (a frame that
 * thieves take from the top of its deque: the largest pieces first) and
 * goes on with the left half; at the end it syncs the frames in reverse
 * order. A worker that nobody asks for work never splits: it runs its
 * pieces in a plain loop. This is lazy binary splitting (A. Tzannes,
 * G. C. Caragea, R. Barua, U. Vishkin, "Lazy Binary Splitting", PPoPP
 * 2010), with the split deque's requests (deque.c) as the signal instead
 * of a look at the deque's size.
 *
 * "Wants work". A thief that found this worker's public region empty has
 * set its publish_request (deque.c, "requests"), and idle workers that are
 * asleep are counted in the parking lot's `sleepers` (they renewed their
 * requests before sleeping). Either makes the loop split; a split caused
 * by sleepers alone publishes the frame and wakes one itself (a fork
 * answers a request on its own). The first check comes before the first
 * piece, so a loop started while workers are idle spreads at once.
 *
 * Pieces. With grain g >= 1 a piece is g indices, on the grid begin + k*g,
 * and splits fall on the grid. With grain 0 the range is cut into at most
 * LOOP_AUTO_PIECES pieces on a grid of its own; a frame run by the worker
 * that forked it (popped back, nobody took it) keeps that grid, so a loop
 * on busy workers runs at most LOOP_AUTO_PIECES bodies in all, whatever
 * stale requests made it split; a frame that another worker took starts a
 * finer grid of its own (its length / LOOP_AUTO_PIECES), so the tail of an
 * irregular loop balances. Lengths are compared, never summed, so ranges
 * reaching SIZE_MAX do not overflow.
 *
 * Early stop. The first nonzero code is kept with a CAS from 0; each worker
 * reads it before each piece, so after it each worker starts at most the
 * piece it was already starting. Frames forked before still run (and find
 * the code at once): every frame is synced, so bodies still running finish
 * before spool_for returns, and the syncs order everything the bodies did
 * before the return.
 *
 * Stack. Each split adds one level of recursion (a spool_task and a few
 * words) and halves the range, so a worker's depth is at most log2 of the
 * number of pieces. */
#include "internal.h"

#include <pthread.h>

/* grain 0: at most this many bodies when no other worker asks for work. */
#define LOOP_AUTO_PIECES 64

typedef struct loop {
  spool_range_fn body;
  void *ctx;
  bool automatic; /* grain 0 */
  /* The first nonzero code a body returned. Set once by a seq_cst CAS
     from 0 (loop_record_error); read (seq_cst) before every piece as the
     stop flag, so that a piece started after the CAS in its total order
     sees it; read for the result after every frame is synced. */
  _Atomic int error;
} loop;

/* A range handed to a frame; lives beside the frame on the forker's stack
   until the sync. */
typedef struct loop_range {
  loop *L;
  size_t lo, hi, chunk;
  const worker *forker;
} loop_range;

static size_t pieces_of(size_t len, size_t chunk) {
  return len / chunk + (len % chunk != 0);
}

static size_t auto_chunk(size_t len) {
  return pieces_of(len, LOOP_AUTO_PIECES);
}

static bool loop_stopped(loop *L) {
  /* seq_cst: pairs with the CAS in loop_record_error(). */
  return load_seq_cst(&L->error) != 0;
}

static void loop_record_error(loop *L, int error) {
  int none = 0;
  /* seq_cst: pairs with the loads in loop_stopped(); the first code wins. */
  atomic_compare_exchange_strong_explicit(&L->error, &none, error, memory_order_seq_cst,
                                          memory_order_seq_cst);
}

/* Whether another worker wants work: a standing request on our deque, or
   idle workers asleep. */
static bool work_wanted(worker *self, bool *requested) {
  spool_executor *ex = self->ex;
  if (ex->nworkers < 2) return false;
  *requested = deque_publish_requested(&self->dq);
  /* relaxed: a hint (park.c); a sleeper we miss renewed its request on our
     deque before sleeping, so a later piece sees it. */
  return *requested || load_relaxed(&ex->lot.sleepers) > 0;
}

static int loop_frame(void *arg, void **result);

/* Runs [lo, hi) on the grid of `chunk` starting at lo; returns the worker
   it ends on (bodies and syncs may migrate the task). */
static worker *loop_run(loop *L, size_t lo, size_t hi, size_t chunk, worker *self) {
  for (;;) {
    if (loop_stopped(L)) return self;
    size_t len = hi - lo;
    bool requested = false;
    if (len > chunk && work_wanted(self, &requested)) {
      size_t mid = lo + pieces_of(len, chunk) / 2 * chunk;
      loop_range right = {L, mid, hi, chunk, self};
      spool_task t;
      spool_fork(&t, loop_frame, &right);
      if (!requested) {
        /* Split for sleepers: the fork published nothing; offer it (or an
           older item) and wake one (fenced: it may be falling asleep). */
        deque_publish(&self->dq, false);
        park_notify(&self->ex->lot);
      }
      loop_run(L, lo, mid, chunk, self);
      spool_sync(&t, NULL);
      return worker_self();
    }
    size_t step = len < chunk ? len : chunk;
    int error = L->body(lo, lo + step, L->ctx);
    self = worker_self(); /* the body may have moved the task */
    if (error) {
      loop_record_error(L, error);
      return self;
    }
    if (step == len) return self;
    lo += step;
  }
}

/* A frame's half of the range. Codes go through L->error, never through
   the frame, so they pass unchanged. */
static int loop_frame(void *arg, void **result) {
  (void)result;
  loop_range *r = arg;
  worker *self = worker_self();
  size_t chunk = r->chunk;
  /* Taken by another worker: cut finer, so the loop's tail balances. */
  if (r->L->automatic && self != r->forker) {
    size_t finer = auto_chunk(r->hi - r->lo);
    if (finer < chunk) chunk = finer;
  }
  loop_run(r->L, r->lo, r->hi, chunk, self);
  return 0;
}

/* The root task of a loop started from outside. */
static int loop_root(void *arg, void **result) {
  (void)result;
  loop_range *r = arg;
  loop_run(r->L, r->lo, r->hi, r->chunk, worker_self());
  return 0;
}

int spool_for(spool_executor *ex, size_t begin, size_t end, size_t grain, spool_range_fn body,
              void *ctx) {
  if (!ex || !body) return SPOOL_EINVAL;
  if (begin >= end) return SPOOL_OK;
  loop L = {.body = body, .ctx = ctx, .automatic = grain == 0};
  atomic_init(&L.error, 0);
  loop_range root = {&L, begin, end, grain ? grain : auto_chunk(end - begin), NULL};
  worker *self = worker_of(ex, worker_self());
  if (self) {
    /* Inside a task of ex: fork-join within it, even after shutdown. */
    loop_run(&L, begin, end, root.chunk, self);
  } else {
    int rc = spool_run(ex, loop_root, &root, NULL);
    if (rc != SPOOL_OK) return rc; /* ESHUTDOWN, ENOMEM: nothing ran */
  }
  /* seq_cst: the syncs (or the root's future) ordered every body's CAS
     before this load. */
  return load_seq_cst(&L.error);
}

/* ---- spool_map ------------------------------------------------------------ */

typedef struct map_job {
  spool_fn fn;
  void *const *args;
  void **results;
  int *errors;
  /* The lowest failing index and its code; updated under `lock` by the
     body that found a failure (rare), read after the loop. */
  pthread_mutex_t lock;
  size_t lowest;
  int lowest_error;
} map_job;

static int map_body(size_t lo, size_t hi, void *ctx) {
  map_job *m = ctx;
  size_t failed = SIZE_MAX;
  int failed_error = 0;
  for (size_t i = lo; i < hi; i++) {
    void *r = NULL;
    int error = m->fn(m->args[i], &r);
    if (m->results) m->results[i] = error ? NULL : r;
    if (m->errors) m->errors[i] = error;
    if (error && failed == SIZE_MAX) {
      failed = i;
      failed_error = error;
    }
  }
  if (failed != SIZE_MAX) {
    /* Not held across anything that may migrate the task. */
    pthread_mutex_lock(&m->lock);
    if (failed < m->lowest) {
      m->lowest = failed;
      m->lowest_error = failed_error;
    }
    pthread_mutex_unlock(&m->lock);
  }
  return 0; /* every item runs: the loop never stops early */
}

int spool_map(spool_executor *ex, spool_fn fn, void *const *args, size_t n, void **results,
              int *errors) {
  if (!ex || !fn || (!args && n)) return SPOOL_EINVAL;
  if (n == 0) return SPOOL_OK;
  map_job m = {.fn = fn, .args = args, .results = results, .errors = errors, .lowest = SIZE_MAX};
  pthread_mutex_init(&m.lock, NULL);
  int rc = spool_for(ex, 0, n, 0, map_body, &m);
  pthread_mutex_destroy(&m.lock);
  if (rc != SPOOL_OK) return rc;
  return m.lowest == SIZE_MAX ? SPOOL_OK : m.lowest_error;
}
