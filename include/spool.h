/* spool — a work-stealing task runtime for C11.
 *
 * spool brings the model of Python's concurrent.futures to C: executors,
 * futures, wait, as_completed and shutdown, with two extensions of the
 * betterconcurrent project:
 *
 *   - spool_yield_until_done(): a task waits for other futures without
 *     holding its worker thread;
 *   - spool_join(): waits until every task, and every task they spawned,
 *     has finished.
 *
 * and a fork-join fast path (spool_fork / spool_sync) for fine-grained
 * recursive parallelism.
 *
 * Everything the library offers is declared and documented in this file.
 *
 * CONVENTIONS (they hold for every function below)
 *
 * Errors. A function that can fail returns an int: 0 (SPOOL_OK) on success,
 *   or one of the SPOOL_E* codes. The runtime's codes lie in the reserved
 *   block -10001 .. -10999. A task's error code (its "exception") is any
 *   other nonzero int, so -1, -errno and positive codes pass through
 *   unchanged; a task that returns a value inside the reserved block has it
 *   reported as SPOOL_EINVAL. spool_strerror() names every code.
 *
 * Out-parameters are set to NULL on failure. `result` pointers may be NULL.
 *   A task's *result is NULL when it starts.
 *
 * Ownership. spool_submit() and spool_future_create() hand the caller one
 *   reference to the future; release it with spool_future_release(). The
 *   runtime holds its own reference while a task is queued, running or
 *   suspended, and while callbacks run. spool_wait(), the yields, the
 *   spool_as_completed_* functions and callbacks *borrow* futures: the caller
 *   keeps its references until the call (for as_completed: until
 *   spool_as_completed_end()) returns. A callback may release references,
 *   including the caller's last one.
 *
 * Visibility. Everything a task did happens-before the return of any call
 *   that observes its completion: result, exception, a done() that returns
 *   true, wait, as_completed_next, its callbacks, the yields, spool_sync,
 *   spool_join and spool_shutdown(wait).
 *
 * Callbacks added before completion run once, in the order added, on the
 *   thread that completed or cancelled the future (before
 *   spool_future_cancel() returns, for a cancel). A callback added to a
 *   future that is already done runs at once on the caller's thread, before
 *   spool_future_add_done_callback() returns. Callbacks may submit, complete
 *   other futures and release references; they should not block.
 *
 * NULL. spool_future_release(NULL) and spool_executor_destroy(NULL) do
 *   nothing; every other function given NULL where an object is needed
 *   returns SPOOL_EINVAL (or false / NULL / -1 for the queries).
 *
 * Timeouts are in seconds (a double). Any negative timeout, such as
 *   SPOOL_FOREVER, waits forever; 0 polls; NaN is SPOOL_EINVAL.
 *
 * Threads. "A worker" means a worker thread of the same executor; a call
 *   from another executor's worker acts as a call from outside. Worker
 *   threads block asynchronous signals, so signals go to the program's own
 *   threads. After fork(), the child must not use an executor created by the
 *   parent.
 *
 * Migration. After spool_yield_until_done(), or a spool_sync() that had to
 *   wait for a thief, a task may continue on a different worker thread. A
 *   blocking call inside a task (spool_future_result() and friends) may run
 *   other tasks inline, and so may also be a migration point. Across such a
 *   point, do not hold a thread-owned lock (a pthread_mutex_t) and do not use
 *   the address of a thread-local variable (errno included) taken before it.
 *
 * Misuse that cannot be reported (destroying an executor from one of its own
 *   tasks, syncing frames out of order in a debug build, overflowing a fiber
 *   stack) prints one line naming the problem and the fix to stderr and
 *   aborts. Otherwise the library never prints, never calls exit() and never
 *   aborts.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SPOOL_VERSION_MAJOR 0
#define SPOOL_VERSION_MINOR 1
#define SPOOL_VERSION_PATCH 0

#ifdef __cplusplus
#define SPOOL_ALIGNAS(n) alignas(n)
#else
#define SPOOL_ALIGNAS(n) _Alignas(n)
#endif

/* ---- Error codes --------------------------------------------------------- */

#define SPOOL_OK         0
#define SPOOL_ECANCELLED (-10001) /* the future was cancelled (CancelledError) */
#define SPOOL_ETIMEDOUT  (-10002) /* the wait's timeout expired (TimeoutError) */
#define SPOOL_ESHUTDOWN  (-10003) /* the executor is shut down: nothing new can be scheduled */
#define SPOOL_ENOMEM     (-10004) /* out of memory; nothing was scheduled, nothing leaked */
#define SPOOL_EINVAL     (-10005) /* invalid argument: NULL object, bad config, NaN timeout */
#define SPOOL_ESTATE     (-10006) /* not allowed in this state (InvalidStateError) */
#define SPOOL_EBROKEN    (-10007) /* a worker initializer failed (BrokenThreadPool) */
#define SPOOL_EEXHAUSTED (-10008) /* spool_as_completed_next: every future was returned */

/* A static, human-readable string for every runtime code; "task error" for
   any other nonzero code, "success" for 0. Never NULL. */
const char *spool_strerror(int code);

/* ---- Types --------------------------------------------------------------- */

typedef struct spool_executor spool_executor;         /* opaque */
typedef struct spool_future spool_future;             /* opaque, reference-counted */
typedef struct spool_as_completed spool_as_completed; /* opaque */

/* A task: returns 0, or its error code; may store a result in *result
   (NULL on entry). */
typedef int (*spool_fn)(void *arg, void **result);

/* A done callback: see "Callbacks" above. `f` is borrowed. */
typedef void (*spool_callback)(spool_future *f, void *user);

/* Where workers run. NONE: the OS decides. CORE: worker i pinned to the i-th
   core of the allowed set. SPREAD: workers spread across NUMA nodes and
   caches. NUMA: each worker bound to the cores of one NUMA node. */
typedef enum spool_bind {
  SPOOL_BIND_NONE,
  SPOOL_BIND_CORE,
  SPOOL_BIND_SPREAD,
  SPOOL_BIND_NUMA
} spool_bind;

/* spool_wait's condition, as in Python. A cancelled future is not an
   exception. */
typedef enum spool_return_when {
  SPOOL_ALL_COMPLETED,
  SPOOL_FIRST_COMPLETED,
  SPOOL_FIRST_EXCEPTION
} spool_return_when;

/* Executor configuration. Fill with spool_config_init(), then override
   fields. */
typedef struct spool_config {
  unsigned workers;        /* 0: one per hardware thread the process may use */
  spool_bind bind;         /* default SPOOL_BIND_NONE */
  size_t fiber_stack_size; /* bytes; default 1 MiB */
  /* Tasks suspended at once (each keeps a fiber: a stack and its guard
     page, two memory mappings; the workers' own loop fibers come on top).
     Per executor. Default, from the kernel's limit on mappings per process
     (vm.max_map_count, /proc/sys/vm/max_map_count; 65530 when unreadable):
         (max_map_count - max(max_map_count / 4, 4096)) / 2,
     at least 64, at most 2^20; 24574 with Linux's default 65530. A quarter
     of the mappings (at least 4096) is left to the program itself. Two
     executors with the default share that one limit. At the cap a wait
     does not fail but waits nested (see spool_yield_until_done). */
  unsigned max_fibers;
  const char *thread_name_prefix;    /* default "spool" */
  int (*initializer)(void *initarg); /* run on each worker thread before its first task */
  void *initarg;
  bool catch_stack_overflow; /* default true: a clear message instead of a bare SIGSEGV */
  const char *env_error;     /* set by spool_config_init: the malformed variable, or NULL */
  void *reserved[8];         /* zero */
} spool_config;

/* A fork-join frame (see spool_fork). Allocate it on the stack or in an
   array; its contents are private. */
typedef struct spool_task {
  SPOOL_ALIGNAS(16) unsigned char opaque[64];
} spool_task;

/* Counters, per worker or summed (spool_stats_read), each kept by its
 * worker without synchronisation, so a read is a consistent-enough
 * snapshot, not an atomic one:
 *   tasks_run      submitted tasks run to completion (fork frames excluded)
 *   steals_tried   steal attempts on other workers' deques; steals_won
 *   inline_claims  queued tasks run inline by a blocking wait or a yield
 *   suspends       tasks parked on their fiber (yield, sync on a stolen
 *                  frame); resumes: parked tasks resumed
 *   forks          spool_fork calls on a worker; forks_stolen: frames
 *                  taken by a thief
 *   cancelled      tasks cancelled before they started (cancelled futures,
 *                  and fire-and-forget tasks dropped by
 *                  spool_shutdown(cancel_futures))
 *   nested_waits   waits (yields, syncs) begun at the max_fibers cap,
 *                  which could not park their task and ran other work on
 *                  its own stack instead; a nonzero count is the sign to
 *                  raise max_fibers (see spool_yield_until_done)
 *   seconds_asleep time the worker slept for lack of work */
typedef struct spool_stats {
  uint64_t tasks_run, steals_tried, steals_won, inline_claims, suspends, resumes, forks,
      forks_stolen, cancelled, nested_waits;
  double seconds_asleep;
  uint64_t reserved[8];
} spool_stats;

/* Any negative timeout waits forever. */
#define SPOOL_FOREVER (-1.0)

/* ---- Executor ------------------------------------------------------------ */

/* Fills *c with the defaults, then reads the environment:
 *   SPOOL_WORKERS        a count; 0 means the default
 *   SPOOL_BIND           none | core | spread | numa
 *   SPOOL_STACK_SIZE     bytes, optional K/M suffix (either case), >= 16K,
 *                        rounded up to whole pages
 *   SPOOL_MAX_FIBERS     >= 1
 *   SPOOL_CATCH_OVERFLOW 0 | 1
 * Parsing is strict: "8x", "-1", "", an overflow are malformed. The first
 * malformed variable's name is stored in c->env_error, and
 * spool_executor_create() then fails with SPOOL_EINVAL, so a typo in a
 * deployment never passes silently. Fields set after this call override the
 * environment (but not a recorded env_error). */
void spool_config_init(spool_config *c);

/* Creates an executor and starts its workers. `c` may be NULL (the defaults
 * of spool_config_init). Waits until every worker has run c->initializer on
 * its own thread (where spool_current_worker() is its index). Fails with
 * SPOOL_EINVAL for a bad config (c->env_error set, a nonzero reserved field,
 * max_fibers 0, a stack below 16 KiB), SPOOL_EBROKEN if an initializer
 * returned nonzero, SPOOL_ENOMEM; on failure *ex is NULL and nothing is
 * left behind. */
int spool_executor_create(spool_executor **ex, const spool_config *c);

/* Schedules fn(arg, &result). With `out` non-NULL, *out receives a new
 * future (one reference for the caller); with `out` NULL the task is
 * fire-and-forget: no future is allocated and a failure is reported by the
 * next spool_join(). From a worker of `ex` the task goes onto that worker's
 * deque, from anywhere else onto an injection queue. Returns SPOOL_EINVAL
 * (NULL ex or fn), SPOOL_ESHUTDOWN after spool_shutdown(), SPOOL_ENOMEM. */
int spool_submit(spool_executor *ex, spool_fn fn, void *arg, spool_future **out);

/* Waits until every task submitted so far, and every task they spawn,
 * transitively, has finished (a suspended task has not). Returns SPOOL_OK;
 * SPOOL_ETIMEDOUT; or the error code of the first fire-and-forget task that
 * failed since the previous join (exactly one of several concurrent joiners
 * sees it; a join that times out leaves it for the next). From inside a
 * task of `ex`: SPOOL_ESTATE. */
int spool_join(spool_executor *ex, double timeout);

/* Stops new submissions (SPOOL_ESHUTDOWN from then on, from outside and
 * from tasks); running tasks, continuations and spool_fork inside running
 * tasks go on. With `cancel_futures`, every task not yet started is
 * cancelled before the call returns (fire-and-forget ones are dropped and
 * counted in the `cancelled` statistic); otherwise queued tasks still run.
 * With `wait`, returns after all of that has finished and the workers have
 * exited; a task suspended on a future that nobody completes keeps it
 * waiting. Idempotent (a later call may still ask for cancel or wait). With
 * `wait` from inside a task of `ex`: SPOOL_ESTATE. */
int spool_shutdown(spool_executor *ex, bool wait, bool cancel_futures);

/* spool_shutdown(ex, true, false), then frees the executor. Futures still
 * held stay valid; their spool_future_executor() becomes NULL. Nothing
 * queued leaks. NULL does nothing. From inside one of its own tasks: misuse
 * (aborts with a message). */
void spool_executor_destroy(spool_executor *ex);

/* The number of workers (0 for NULL). */
unsigned spool_executor_workers(const spool_executor *ex);

/* The executor and worker index running the caller, or NULL / -1 on a
 * thread that is not a worker. Correct after a migration. */
spool_executor *spool_current_executor(void);
int spool_current_worker(void);

/* ---- Futures ------------------------------------------------------------- */

/* States: PENDING -> RUNNING -> FINISHED, or PENDING -> CANCELLED. A created
 * future goes from PENDING to FINISHED when completed. */

/* Waits for the future and returns SPOOL_OK with the task's result in
 * *result, or the task's error code (*result NULL), SPOOL_ECANCELLED, or
 * SPOOL_ETIMEDOUT. On a worker of the future's executor with
 * SPOOL_FOREVER, a task not yet started is claimed and run inline on the
 * calling thread, so waiting for queued work never deadlocks. */
int spool_future_result(spool_future *f, double timeout, void **result);

/* The task's error code, 0 if it succeeded, SPOOL_ECANCELLED, or
 * SPOOL_ETIMEDOUT. Runs a not-yet-started task inline as _result does. */
int spool_future_exception(spool_future *f, double timeout);

/* True if the future is (now) cancelled; false if it is running or
 * finished. Callbacks run before it returns. */
bool spool_future_cancel(spool_future *f);

bool spool_future_cancelled(const spool_future *f);
bool spool_future_running(const spool_future *f);
bool spool_future_done(const spool_future *f); /* finished or cancelled */

/* Adds a done callback (see "Callbacks" above). SPOOL_EINVAL for NULL f or
 * cb, SPOOL_ENOMEM. */
int spool_future_add_done_callback(spool_future *f, spool_callback cb, void *user);

/* The executor that made the future; NULL for a created future or once the
 * executor is destroyed. */
spool_executor *spool_future_executor(const spool_future *f);

void spool_future_retain(spool_future *f);
void spool_future_release(spool_future *f); /* NULL does nothing */

/* A future that the caller completes (bridges external events to tasks). */
int spool_future_create(spool_future **out);

/* Complete a created future. SPOOL_ESTATE if it is already done or belongs
 * to a task; for set_exception, an `error` of 0 or in the reserved block is
 * SPOOL_EINVAL. Callbacks and waiters run / wake before it returns. */
int spool_future_set_result(spool_future *f, void *result);
int spool_future_set_exception(spool_future *f, int error);

/* ---- Waiting on many ----------------------------------------------------- */

/* Waits until `when` holds for fs[0..n): ALL_COMPLETED, FIRST_COMPLETED, or
 * FIRST_EXCEPTION (a future finished with an error; else all completed).
 * Reorders fs stably so that the *ndone done futures come first (Python's
 * done / not_done sets). Returns SPOOL_OK, or SPOOL_ETIMEDOUT if it returns
 * because of the timeout (fs is still reordered). n == 0 returns at once.
 * ALL_COMPLETED with SPOOL_FOREVER on a worker runs queued tasks inline. */
int spool_wait(spool_future **fs, size_t n, double timeout, spool_return_when when, size_t *ndone);

/* An iterator that yields fs's futures in completion order; a future that
 * appears twice is returned once. It borrows fs's futures until _end. */
int spool_as_completed_begin(spool_as_completed **it, spool_future **fs, size_t n);

/* The next completed future (borrowed) in *next; SPOOL_ETIMEDOUT;
 * SPOOL_EEXHAUSTED once all have been returned. */
int spool_as_completed_next(spool_as_completed *it, double timeout, spool_future **next);

void spool_as_completed_end(spool_as_completed *it);

/* ---- Cooperative waiting ------------------------------------------------- */

/* Returns when every future in fs is done (fs is not reordered). Inside a
 * task on a worker: first runs inline any awaited task not yet started; if
 * some are still running elsewhere, suspends the calling task and frees the
 * worker; the task continues (perhaps on another worker) once the last of
 * them completes. Anywhere else: blocks like spool_wait(ALL_COMPLETED).
 * Afterwards spool_future_done() is true for each. See "Migration".
 *
 * A suspended task keeps its fiber (stack) and its future stays running;
 * spool_join() waits for it. Awaited tasks are run inline only while at
 * least a quarter of the calling task's stack is free; beyond that the yield
 * suspends instead (a chain of tasks each awaiting the next would
 * otherwise overflow the stack).
 *
 * The fiber cap. At most spool_config.max_fibers tasks are suspended at
 * once. Beyond that a yield (or a spool_sync on a stolen frame) does not
 * fail: it waits "nested", its worker running other queued work on the
 * waiting task's own stack until the futures are done (counted in
 * spool_stats.nested_waits). Nested waits always make progress: each
 * resume of a waiting task ends a wait, and outside work is reached.
 * But a nested wait can wait FOR EVER when its futures depend on work
 * that lies beneath it on its own stack: a task that the same stack was
 * running when it began, interrupted there, which can only go on once the
 * wait above it has returned. The runtime cannot tell that case from a
 * wait on a created future that another thread will complete, so it does
 * not fail it. The fix is to raise max_fibers (the default, from
 * vm.max_map_count, holds tens of thousands of waiting tasks; see
 * spool_config) so that waits suspend instead of nesting.
 *
 * Returns SPOOL_OK; SPOOL_EINVAL for a NULL fs with n > 0 or a NULL
 * element; SPOOL_ENOMEM (nothing waited) when more than 16 futures need a
 * waiter array that cannot be allocated. */
int spool_yield_until_done(spool_future **fs, size_t n);
int spool_future_yield_until_done(spool_future *f);

/* ---- Fork-join ----------------------------------------------------------- */

/* Makes fn(arg) available to other workers; no allocation, no reference
 * counting. On a thread that is no spool worker it runs fn at once and
 * spool_sync() returns its outcome. */
void spool_fork(spool_task *t, spool_fn fn, void *arg);

/* Returns fn's code and result (*result NULL when the code is nonzero).
 * If no other worker took the frame, it is popped and fn is called directly
 * (a few nanoseconds); if a thief is running it, the calling task is
 * suspended, as by spool_yield_until_done(), and resumes (perhaps on another
 * worker) when the thief has finished it. It never fails at the max_fibers
 * cap: there it waits nested, running other work on its own stack until the
 * thief has finished the frame (see "The fiber cap" at
 * spool_yield_until_done).
 *
 * Frames are synced in the reverse order of their forks, and every frame is
 * synced before the function that forked it returns (the frame's memory is
 * gone afterwards). Debug builds (NDEBUG undefined) abort with a message on
 * an out-of-order sync or a task that returns with a frame unsynced;
 * release builds do not check: an out-of-order sync still returns the right
 * outcome (it waits until the frame has run), and a frame left unsynced is
 * undefined behaviour. */
int spool_sync(spool_task *t, void **result);

/* Runs a root task on `ex` and waits for it: the entry point from main().
 * Returns fn's code, or a runtime code. Inside a task of `ex` it calls fn
 * inline. */
int spool_run(spool_executor *ex, spool_fn fn, void *arg, void **result);

/* ---- Observability ------------------------------------------------------- */

/* One worker's counters, or the totals with worker == -1. SPOOL_EINVAL for
 * NULL arguments or a worker index out of range. */
int spool_stats_read(spool_executor *ex, int worker, spool_stats *out);

/* ---- Inline fork-join fast path (implementation detail, not API) ---------
 *
 * On x86-64 with GCC or Clang, spool_fork() and spool_sync() called by name
 * expand to the inline functions below, so a fork and a sync of a frame no
 * thief took cost no library call. They do exactly what the library's
 * functions do on their fast path and call those functions in every other
 * case; the behaviour is the same either way. Taking the functions'
 * addresses still gives the library's functions.
 *
 * Define SPOOL_NO_INLINE before including this header to call the library
 * every time. Everything named spool__* is private to the library: its
 * layout is part of the ABI of libspool.so.0 and may change with the
 * soname, never within it. */

#if defined(__GNUC__)
#define SPOOL__MAY_ALIAS __attribute__((may_alias))
#else
#define SPOOL__MAY_ALIAS
#endif

/* What runs a queued frame: runtime/work.h's work_item.run. */
typedef void *(*spool__run_fn)(void *item, void *worker);

/* The owner's view of its deque's private region (runtime/deque.c): items
 * [split, bottom) are seen by no other thread. A fork may push inline while
 * bottom < push_limit (below it the ring has room). Written by the owner
 * thread only. */
typedef struct spool__lane {
  int64_t bottom;
  int64_t split;
  int64_t push_limit;
  int64_t mask;
  void **slots;               /* the ring; relaxed atomic accesses */
  const int *publish_request; /* nonzero: a thief asked for work */
  spool__run_fn frame_run;    /* what a thief calls to run a frame */
  uint64_t forks;             /* spool_stats.forks (relaxed) */
  uint32_t tag;               /* the running fiber's tag, for debug checks */
} spool__lane;

/* The frame's layout inside spool_task (runtime/forkjoin.c asserts it). */
typedef struct SPOOL__MAY_ALIAS spool__frame {
  spool__run_fn run;
  uint8_t kind;
  uint32_t tag;
  void *next;
  spool_fn fn;
  void *arg;
  void *result;
  uintptr_t state;
  int error;
} spool__frame;

#define SPOOL__WORK_FRAME    2
#define SPOOL__FRAME_PENDING 0

/* x86-64 ELF, LP64 (not x32), GCC or Clang: the thread-local access below
   is written for that ABI. */
#if !defined(SPOOL_NO_INLINE) && !defined(SPOOL__LIBRARY) && defined(__GNUC__) &&                  \
    defined(__x86_64__) && defined(__ELF__) && defined(__LP64__)
#define SPOOL_INLINE_FORK_JOIN 1

#ifdef __cplusplus
#define SPOOL__CAST(type, value) reinterpret_cast<type>(value)
#define SPOOL__NULL              nullptr
#else
#define SPOOL__CAST(type, value) ((type)(value))
#define SPOOL__NULL              ((void *)0)
#endif

/* The library's side of the inline path (exported, not API). */
extern __thread spool__lane *spool__tls_lane __attribute__((tls_model("initial-exec")));

/* This thread's lane, NULL on a thread that is no worker. Read with a fresh
 * thread-pointer access every time (volatile asm, memory clobber): a task
 * may resume on another thread between a fork and its sync, and the
 * compiler would otherwise reuse a thread-local's address across calls
 * (DESIGN.md "Migration across threads"). */
static inline spool__lane *spool__lane_self(void) {
  spool__lane *lane;
  /* Both assembler dialects, for code built with -masm=intel. */
  __asm__ __volatile__("{movq spool__tls_lane@gottpoff(%%rip), %0|"
                       "mov %0, QWORD PTR spool__tls_lane@gottpoff[rip]}\n\t"
                       "{movq %%fs:(%0), %0|mov %0, QWORD PTR fs:[%0]}"
                       : "=r"(lane)
                       :
                       : "memory");
  return lane;
}

static inline void spool__fork_inline(spool_task *t, spool_fn fn, void *arg) {
  spool__lane *lane = spool__lane_self();
  int64_t b = 0;
  /* relaxed: a hint that thieves set (deque.c, "requests"); the library's
     spool_fork() answers it. */
  if (__builtin_expect(!lane || (b = lane->bottom) >= lane->push_limit ||
                           __atomic_load_n(lane->publish_request, __ATOMIC_RELAXED) != 0,
                       0)) {
    spool_fork(t, fn, arg);
    return;
  }
  spool__frame *fr = SPOOL__CAST(spool__frame *, t);
  fr->run = lane->frame_run;
  fr->kind = SPOOL__WORK_FRAME;
  fr->tag = lane->tag;
  fr->fn = fn;
  fr->arg = arg;
  /* relaxed: thieves read it after the release store of split that
     publishes the slot (deque.c, I3). */
  const uintptr_t pending = SPOOL__FRAME_PENDING;
  __atomic_store_n(&fr->state, pending, __ATOMIC_RELAXED);
  /* relaxed: a private slot; published by that same release store. */
  void *item = fr;
  __atomic_store_n(&lane->slots[b & lane->mask], item, __ATOMIC_RELAXED);
  lane->bottom = b + 1;
  /* relaxed: read by spool_stats_read() on other threads. */
  __atomic_store_n(&lane->forks, lane->forks + 1, __ATOMIC_RELAXED);
}

static inline int spool__sync_inline(spool_task *t, void **result) {
  spool__lane *lane = spool__lane_self();
  if (__builtin_expect(lane != SPOOL__NULL, 1)) {
    int64_t b = lane->bottom - 1;
    /* relaxed: a private slot, written by this thread. */
    if (__builtin_expect(b >= lane->split &&
                             __atomic_load_n(&lane->slots[b & lane->mask], __ATOMIC_RELAXED) == t,
                         1)) {
      /* Our own bottom item, unseen by thieves: pop it and call fn. */
      lane->bottom = b;
      spool__frame *fr = SPOOL__CAST(spool__frame *, t);
      void *r = SPOOL__NULL;
      int error = fr->fn(fr->arg, &r);
      if (__builtin_expect(error != 0, 0)) {
        r = SPOOL__NULL;
        /* A task's code inside the reserved block is reported as EINVAL. */
        if (error >= -10999 && error <= -10001) error = SPOOL_EINVAL;
      }
      if (result) *result = r;
      return error;
    }
  }
  return spool_sync(t, result);
}

/* Variadic, so that arguments with commas of their own (compound literals,
   C++ lambdas and templates) pass as they would to a function. */
#define spool_fork(...) spool__fork_inline(__VA_ARGS__)
#define spool_sync(...) spool__sync_inline(__VA_ARGS__)
#endif /* inline fast path */

#ifdef __cplusplus
}
#endif

#endif /* SPOOL_H */
