/* spool_for and spool_map: parallel loops over fork-join frames, split
 * lazily.
 *
 * The range is cut into pieces on a grid (below), and a worker runs its
 * range as a binary tree of fork-join frames: it forks the right half
 * (the pieces from the piece boundary nearest the middle on), goes on with
 * the left half, and calls the body on a single piece; then it syncs the
 * frames in reverse order. The forks go to the owner-private region of the
 * split deque (deque.c): no fence, no atomic read-modify-write, invisible
 * to thieves, so a worker that nobody asks for work pushes and pops its
 * frames back at a few nanoseconds each and runs its pieces in order. Only
 * when another worker wants work does the owner publish frames, the oldest
 * first, which hold the largest halves: that is lazy splitting (A. Tzannes
 * et al., "Lazy Binary Splitting", PPoPP 2010) with the deque's requests
 * as the signal. Keeping the rest of the range in frames (rather than in
 * a local loop counter) also means that a body which blocks or yields
 * (waiting, say, for a later index) leaves the rest of the range to other
 * workers: blocking and parking publish the private region.
 *
 * "Wants work". A thief that found this worker's public region empty has
 * set its publish_request (deque.c, "requests"), which the fork answers;
 * idle workers asleep are counted in the parking lot's `sleepers`, and then
 * the loop publishes and wakes one itself. A loop's first split (and the
 * first split of a frame another worker took) is published in any case:
 * an idle worker that spins may have no request standing on this deque
 * (its last steal round may have found work here), and it watches only
 * the public regions; without the offer, a loop whose bodies all run long
 * would leave it idle until the first body returns. The offer costs one
 * publication and one fenced notify per loop; on busy workers the frame
 * is popped back by its owner. The first fork comes before the first
 * body, so a loop started while workers are idle spreads at once.
 *
 * Pieces. With grain g >= 1 a piece is g indices, on the grid begin + k*g.
 * With grain 0 the range is cut into at most LOOP_AUTO_PIECES pieces; a
 * frame run by the worker that forked it (popped back: nobody took it)
 * keeps that grid, so a loop on busy workers runs at most LOOP_AUTO_PIECES
 * bodies in all; a frame that another worker took is cut on a finer grid of
 * its own (its length / LOOP_AUTO_PIECES), and so is a single piece about
 * to run when a worker has asked for work, so the tail of an irregular loop
 * balances. Lengths are compared, never summed, so ranges reaching
 * SIZE_MAX do not overflow.
 *
 * Invariant: the bodies' subranges are disjoint, non-empty and cover
 * [begin, end) exactly (when no body fails). Each step either calls the
 * body on its whole [lo, hi) (lo < hi), or cuts it at a piece boundary mid
 * with lo < mid < hi (pieces >= 2, and mid = lo + floor(pieces/2) * chunk)
 * into [lo, mid), run by the same call, and [mid, hi), run by a frame that
 * runs exactly once (forkjoin.c: the deque entry is the only licence to
 * run it) before the sync returns. With a grain, every cut and every piece
 * lies on the grid, so no body is longer than the grain; re-cutting finer
 * (grain 0 only) changes the grid of a subrange, never its bounds.
 *
 * Early stop. The first nonzero code is kept with a CAS from 0; each worker
 * reads it before each fork and each body, so after it each worker starts
 * at most the body it was already starting. Frames forked before still run
 * (and return at once): every frame is synced, so bodies still running
 * finish before spool_for returns, and the syncs order everything the
 * bodies did before the return.
 *
 * Stack. Each level of the tree holds one spool_task and a few words on the
 * stack, and the depth is log2 of the number of pieces (at most 6 for
 * grain 0 on one grid; at most 64 for any grain). */
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

/* Whether a worker has asked this one for work (a request only: each is
   answered, and cleared, by one publication, so a piece is cut finer once
   per request, never all the way down while a sleeper is slow to wake). */
static bool piece_wanted(worker *self) {
  return self->ex->nworkers > 1 && deque_publish_requested(&self->dq);
}

static int loop_frame(void *arg, void **result);

/* Runs [lo, hi) on the grid of `chunk` starting at lo; returns the worker
   it ends on (bodies and syncs may migrate the task). With `offer`, the
   first split is published whether or not anyone asked (file comment). */
static worker *loop_run(loop *L, size_t lo, size_t hi, size_t chunk, bool offer, worker *self) {
  if (loop_stopped(L)) return self;
  size_t len = hi - lo;
  if (len <= chunk && L->automatic && len > 1 && piece_wanted(self)) {
    /* A worker asks for work and this worker has only this piece: cut it
       finer, so the end of the loop balances (once per request: the fork
       below answers it). */
    chunk = auto_chunk(len);
  }
  if (len <= chunk) {
    int error = L->body(lo, hi, L->ctx);
    self = worker_self(); /* the body may have moved the task */
    if (error) loop_record_error(L, error);
    return self;
  }
  size_t mid = lo + pieces_of(len, chunk) / 2 * chunk;
  loop_range right = {L, mid, hi, chunk, self};
  spool_task t;
  bool requested = false;
  bool wanted = work_wanted(self, &requested) || (offer && self->ex->nworkers > 1);
  /* A fork answers a standing request itself (publishes, wakes). */
  spool_fork(&t, loop_frame, &right);
  if (wanted && !requested) {
    /* Offer the frame (or an older item) to idle workers, spinning ones
       included, and wake a sleeper (fenced: it may be falling asleep). */
    deque_publish(&self->dq, false);
    park_notify(&self->ex->lot);
  }
  loop_run(L, lo, mid, chunk, false, self);
  spool_sync(&t, NULL);
  return worker_self();
}

/* A frame's half of the range. Codes go through L->error, never through
   the frame, so they pass unchanged. */
static int loop_frame(void *arg, void **result) {
  (void)result;
  loop_range *r = arg;
  worker *self = worker_self();
  size_t chunk = r->chunk;
  /* Taken by another worker: cut finer, so the loop's tail balances, and
     offer half at once, as a loop does when it starts. */
  bool stolen = self != r->forker;
  if (r->L->automatic && stolen) {
    size_t finer = auto_chunk(r->hi - r->lo);
    if (finer < chunk) chunk = finer;
  }
  loop_run(r->L, r->lo, r->hi, chunk, stolen, self);
  return 0;
}

/* The root task of a loop started from outside. */
static int loop_root(void *arg, void **result) {
  (void)result;
  loop_range *r = arg;
  loop_run(r->L, r->lo, r->hi, r->chunk, true, worker_self());
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
    loop_run(&L, begin, end, root.chunk, true, self);
  } else {
    int rc = spool_run(ex, loop_root, &root, NULL);
    /* The root returns 0, so any code is the runtime's: the submit was
       refused (ESHUTDOWN, ENOMEM), or spool_shutdown(cancel_futures)
       cancelled the root while it was queued, which is a shutdown too.
       Either way nothing ran. */
    if (rc == SPOOL_ECANCELLED) return SPOOL_ESHUTDOWN;
    if (rc != SPOOL_OK) return rc;
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
