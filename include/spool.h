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
 *   block -10001 .. -10999, so they never collide with -1, -errno and
 *   positive codes. A task's error code (its "exception") is any nonzero
 *   int and passes through unchanged, runtime codes included, as Python
 *   re-raises whatever a task raised: a task may return the code a wait
 *   gave it (`if (rc) return rc;`). So a wait may report SPOOL_ECANCELLED or
 *   SPOOL_ETIMEDOUT that came from the task itself; spool_future_cancelled()
 *   and spool_future_done() tell them apart. spool_join() and spool_run()
 *   report such codes as they are and cannot tell them from their own (a
 *   detached task should not return SPOOL_ETIMEDOUT to a join with a
 *   timeout). spool_strerror() names every runtime code.
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
 *   true, wait, as_completed_next, its callbacks, the yields (spool_yield_wait
 *   included), spool_sync, spool_join, spool_shutdown(wait), spool_group_join
 *   and spool_group_destroy, and (for their bodies and items) spool_for and
 *   spool_map.
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
 *   other tasks inline, or suspend the task when its stack is too full to
 *   (see spool_future_result), and so may also be a migration point. Across
 *   such a point, do not hold a thread-owned lock (a pthread_mutex_t) and do
 *   not use the address of a thread-local variable (errno included) taken
 *   before it.
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
#define SPOOL_VERSION_MINOR 3
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
typedef struct spool_group spool_group;               /* opaque: see "Task groups" */

/* A task: returns 0, or its error code; may store a result in *result
   (NULL on entry). */
typedef int (*spool_fn)(void *arg, void **result);

/* A done callback: see "Callbacks" above. `f` is borrowed. */
typedef void (*spool_callback)(spool_future *f, void *user);

/* Where workers run, within the hardware threads the process may use (the
 * affinity mask of the thread that creates the executor, which its workers
 * inherit: taskset, cgroup cpusets, numactl --cpunodebind), as hwloc
 * describes the machine:
 *
 *   NONE    nothing is bound; the OS places the threads (OMP_PROC_BIND=false).
 *   CORE    worker i pinned to one hardware thread, filling distinct cores
 *           in topology order before a second thread of any core (compact:
 *           OMP_PLACES=cores, OMP_PROC_BIND=close).
 *   SPREAD  each next worker pinned to a hardware thread of the least used
 *           package, in it the least used NUMA node, L3, then core: workers
 *           spread evenly over packages and nodes first (OMP_PROC_BIND=spread).
 *   NUMA    workers in blocks over the NUMA nodes (worker i on node
 *           floor(i * nodes / workers)), each bound to all the allowed
 *           hardware threads of its node; the OS places it within the node
 *           (OMP_PLACES=numa_domains).
 *
 * For example, on two packages of two nodes of four 2-thread cores
 * (lstopo: Package L#0 { NUMANode L#0 { Core L#0..3 } NUMANode L#1 { ... } }
 * Package L#1 { ... }), 4 workers land as follows:
 *
 *   CORE    w0 core 0, w1 core 1, w2 core 2, w3 core 3   (all on node 0)
 *   SPREAD  w0 node 0, w1 node 2, w2 node 1, w3 node 3   (one per node)
 *   NUMA    w0 node 0, w1 node 1, w2 node 2, w3 node 3   (the node's 8 threads)
 *
 * Whatever the mode, a thief looks for work nearest first: the workers
 * sharing its core, then its L3 cache, then its NUMA node, then the other
 * nodes by distance (hwloc's distance matrix where the machine reports one,
 * else packages before the rest), trying a farther level only when every
 * nearer one had nothing. With NONE every other worker is one level (the
 * threads move). There is one injection queue per NUMA node with workers;
 * a submission from a thread that is no worker goes to the queue of the
 * node it runs on (queue 0 when that node has no worker). A worker's deque
 * and trace buffer are allocated by its own thread after it is bound, so
 * they live on its node, as do the fiber stacks it maps.
 *
 * HWLOC_SYNTHETIC and HWLOC_XMLFILE describe another machine to hwloc: the
 * worker count, the queues and the victim order then follow that
 * description, and nothing is bound (its CPU numbers mean nothing here). */
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
  unsigned workers;        /* 0: one per allowed hardware thread; at most 4096 */
  spool_bind bind;         /* default SPOOL_BIND_NONE */
  size_t fiber_stack_size; /* bytes; default 1 MiB */
  /* Tasks suspended at once (each keeps a fiber: a stack and the guard
     below it, two memory mappings; the workers' own loop fibers come on top).
     Per executor. Default, from the kernel's limit on mappings per process
     (vm.max_map_count, /proc/sys/vm/max_map_count; 65530 when unreadable):
         (max_map_count - max(max_map_count / 4, 4096)) / 2,
     at least 64, at most 2^20; 24574 with Linux's default 65530. A quarter
     of the mappings (at least 4096) is left to the program itself. Two
     executors with the default share that one limit. At the cap a wait
     does not fail but waits nested (see spool_yield_until_done). A
     library built with ThreadSanitizer divides by 6, not 2 (TSan maps
     about four regions of its own per fiber): 8191. */
  unsigned max_fibers;
  const char *thread_name_prefix;    /* default "spool" */
  int (*initializer)(void *initarg); /* run on each worker thread before its first task */
  void *initarg;
  /* Default true: a clear message instead of a bare SIGSEGV when a task
     overflows its fiber stack into the 64 KiB guard below it. A function
     whose frame is larger than the stack it has left plus 64 KiB can jump
     the guard (into other memory, perhaps another fiber's stack) unless it
     is compiled with -fstack-clash-protection; keep large buffers off fiber
     stacks. A signal sent with kill() or sigqueue() is never taken for an
     overflow. */
  bool catch_stack_overflow;
  const char *env_error; /* set by spool_config_init: the malformed variable, or NULL */
  /* Tracing: where to write a Chrome trace-event JSON file when the
     executor is destroyed (see "Tracing" below); NULL: off. Taken from the
     reserved space (it was reserved[0]). */
  const char *trace_path;
  void *reserved[7]; /* zero */
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
 *   steals_tried   steal attempts on other workers' deques; steals_won:
 *                  the attempts that took an item
 *   inline_claims  queued tasks run inline by a blocking wait or a yield
 *   suspends       tasks parked on their fiber (yield, sync on a stolen
 *                  frame); resumes: parked tasks resumed
 *   forks          spool_fork calls on a worker; forks_stolen: frames
 *                  taken by a thief
 *   cancelled      tasks cancelled before they started (cancelled futures,
 *                  and fire-and-forget tasks dropped by
 *                  spool_shutdown(cancel_futures) or spool_group_cancel())
 *   nested_waits   waits (yields, syncs) begun at the max_fibers cap,
 *                  which could not park their task and ran other work on
 *                  its own stack instead; a nonzero count is the sign to
 *                  raise max_fibers (see spool_yield_until_done)
 *   seconds_asleep time the worker slept for lack of work, including a
 *                  sleep in progress */
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
 *   SPOOL_WORKERS        a count, at most 4096; 0 means the default (one
 *                        per allowed hardware thread, at most 4096)
 *   SPOOL_BIND           none | core | spread | numa, in either case
 *   SPOOL_STACK_SIZE     bytes, optional K/M suffix (either case), >= 16K,
 *                        rounded up to whole pages, to at most SIZE_MAX / 4
 *   SPOOL_MAX_FIBERS     >= 1
 *   SPOOL_CATCH_OVERFLOW 0 | 1
 *   SPOOL_TRACE          a path: trace_path (see "Tracing"); empty is malformed
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
 * max_fibers 0, a stack below 16 KiB or above SIZE_MAX / 4, more than 4096
 * workers: at once, before any thread starts), SPOOL_EBROKEN if an
 * initializer returned nonzero, SPOOL_ENOMEM (also when, with
 * catch_stack_overflow, a worker's alternate signal stack cannot be mapped:
 * no worker runs without overflow detection); on failure *ex is NULL and
 * nothing is left behind. */
int spool_executor_create(spool_executor **ex, const spool_config *c);

/* Schedules fn(arg, &result). With `out` non-NULL, *out receives a new
 * future (one reference for the caller); with `out` NULL the task is
 * fire-and-forget: no future is allocated and a failure is reported by the
 * next spool_join(). From a worker of `ex` the task goes onto that worker's
 * deque, from anywhere else onto an injection queue. Order: tasks
 * submitted from outside are taken first in, first out (one queue per NUMA
 * node); tasks a task submits start newest first on its worker (LIFO, as
 * in every work-stealing runtime: the freshest work is hot in the cache),
 * while idle workers steal the oldest. Called by a member of a task group
 * (see "Task groups"), the task joins that group, and returns
 * SPOOL_ECANCELLED (nothing scheduled) once the group is cancelled.
 * Returns SPOOL_EINVAL (NULL ex or fn), SPOOL_ESHUTDOWN after
 * spool_shutdown(), SPOOL_ENOMEM. */
int spool_submit(spool_executor *ex, spool_fn fn, void *arg, spool_future **out);

/* As spool_submit(), but the task receives a pointer to its own copy of
 * the `size` bytes at `arg` instead of `arg` itself. The copy is made before
 * this call returns (the caller may reuse its buffer at once), is aligned
 * for any object type (max_align_t), and stays valid until the task's
 * function returns; the task may write to it. The runtime frees it: after
 * the function returns, or when the task is cancelled or dropped
 * (spool_shutdown(cancel_futures)). `size` 0 passes NULL.
 *
 * Cost. A fire-and-forget submit (`out` NULL) of up to 64 bytes keeps the
 * copy inside the recycled task item, so in steady state it allocates
 * nothing, as spool_submit() does; a larger copy costs one allocation. With
 * a future, a copy of up to 256 bytes shares the future's allocation (and
 * lives as long as the future); a larger one is a separate allocation,
 * freed once the task has returned or was cancelled.
 *
 * Returns as spool_submit(), and SPOOL_EINVAL for `arg` NULL with `size` >
 * 0; SPOOL_ENOMEM when the copy cannot be allocated, with nothing
 * scheduled. */
int spool_submit_copy(spool_executor *ex, spool_fn fn, const void *arg, size_t size,
                      spool_future **out);

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
 * counted in the `cancelled` statistic), including those of submits racing
 * with the call that return SPOOL_OK: afterwards only tasks a worker had
 * already taken may start; otherwise queued tasks still run. (Tasks that a
 * concurrent spool_group_cancel() or spool_shutdown() took first are
 * cancelled, never start, and are counted by that call, whose thread may
 * still be running their callbacks when this call returns.)
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
 * SPOOL_ETIMEDOUT. On a worker of the future's executor, with any timeout
 * but 0, a task not yet started is claimed and run inline on the calling
 * thread, so waiting for queued work never deadlocks or times out on one
 * worker; a finite timeout can then be exceeded by the duration of the task
 * run inline. A timeout of 0 polls and runs nothing. A task already running
 * elsewhere still blocks the thread (spool_yield_wait() frees it).
 * Inline runs nest on the caller's stack, so they happen only while at
 * least a quarter of it is free (as for spool_yield_until_done). Beyond
 * that, a task not yet started is not run inline, and the wait does not
 * block the thread on it either (on one worker nobody else would run it):
 * the calling task is suspended as by spool_yield_wait(), with the same
 * timeout, and the awaited task runs from its queue on a fresh stack. So
 * a chain of tasks each waiting on the next, however long, neither
 * overflows the stack nor deadlocks (at the max_fibers cap such a wait is
 * nested: see spool_yield_until_done). The same holds for every blocking
 * wait below (spool_future_exception, spool_wait, spool_as_completed_next). */
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
 * to a task; for set_exception, an `error` of 0 is SPOOL_EINVAL (any nonzero
 * code is accepted, runtime codes included, as a task may return any).
 * Callbacks and waiters run / wake before it returns. */
int spool_future_set_result(spool_future *f, void *result);
int spool_future_set_exception(spool_future *f, int error);

/* ---- Waiting on many ----------------------------------------------------- */

/* Waits until `when` holds for fs[0..n): ALL_COMPLETED, FIRST_COMPLETED, or
 * FIRST_EXCEPTION (a future finished with an error; else all completed).
 * Reorders fs stably so that the *ndone done futures come first (Python's
 * done / not_done sets). Returns SPOOL_OK, or SPOOL_ETIMEDOUT if it returns
 * because of the timeout (fs is still reordered), SPOOL_EINVAL (NULL fs with
 * n > 0, a NULL entry, a NaN timeout, a bad `when`), or SPOOL_ENOMEM (n > 16
 * needs scratch space that could not be allocated; fs is then untouched).
 * n == 0 returns at once. ndone may be NULL.
 * On a worker of their executor, with any timeout but 0 and in every mode,
 * the awaited tasks not yet started run inline, one at a time in array
 * order, while `when` does not hold (FIRST_COMPLETED runs at most one); a
 * finite timeout can then be exceeded by the duration of a task run inline.
 * Past the stack limit (see spool_future_result) it waits as
 * spool_yield_wait() does instead. A timeout of 0 polls and runs nothing. */
int spool_wait(spool_future **fs, size_t n, double timeout, spool_return_when when, size_t *ndone);

/* An iterator that yields fs's futures in completion order; a future that
 * appears twice is returned once. It borrows fs's futures until _end.
 * Returns SPOOL_OK, SPOOL_EINVAL (NULL it, NULL fs with n > 0, a NULL
 * entry) or SPOOL_ENOMEM (*it is then NULL). */
int spool_as_completed_begin(spool_as_completed **it, spool_future **fs, size_t n);

/* The next completed future (borrowed) in *next; SPOOL_ETIMEDOUT;
 * SPOOL_EEXHAUSTED once all have been returned. On a worker of their
 * executor, with any timeout but 0, when none is ready yet, the iterator's
 * queued tasks not yet returned run inline, one at a time in array order,
 * until one is done (a finite timeout can then be exceeded by the duration
 * of the task run inline). Past the stack limit (see spool_future_result)
 * the calling task is suspended until one is done or the timeout expires. */
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
 * spool_stats.nested_waits). That work may wait nested in turn; once
 * nested waits have used three quarters of a stack, the stack is parked
 * anyway and the worker goes on on a fresh one, so nested waits do not
 * pile up into an overflow: one fiber beyond the cap per stack filled this
 * way (suspends - resumes can then exceed max_fibers by that much). If no
 * such stack can be mapped (vm.max_map_count or memory exhausted), the
 * waits go on nested and may overflow the stack; with catch_stack_overflow
 * the message then names that cause. Nested waits always
 * make progress: each resume of a waiting task ends a wait, and outside
 * work is reached.
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

/* spool_wait's cooperative twin: the same arguments, the same stable
 * reordering of fs (done futures first, *ndone of them) and the same return
 * codes (SPOOL_OK, SPOOL_ETIMEDOUT, SPOOL_EINVAL as for spool_wait; ndone
 * may be NULL;
 * SPOOL_ENOMEM, with nothing waited, when more than 16 futures need memory
 * that cannot be allocated, or the timer cannot be queued).
 *
 * Inside a task on a worker: first, while `when` does not hold, runs inline
 * the awaited tasks that have not started (one at a time, in array order,
 * as spool_yield_until_done does, while a quarter of the stack is free);
 * then, while `when` still does not hold, suspends the task and frees the
 * worker until it holds or the timeout expires. The task continues (perhaps on another worker: see
 * "Migration") on the deque of the worker that completed the future that satisfied `when`; on a
 * timeout, a timer resumes it on the worker that noticed the deadline. Meanwhile idle workers sleep
 * until the earliest deadline of the executor's waits: an executor whose only task waits with a
 * 10-second timeout uses no CPU. The deadline is kept as closely as the workers are free to notice
 * it: a worker busy with a long task notices it when it next looks for work.
 *
 * A timeout of 0 polls: nothing runs inline and nothing suspends. Anywhere
 * else (outside a worker) it is spool_wait. Futures of other executors and
 * created futures are waited on the same way. A cooperative sleep is a
 * yield-wait on a created future that nobody completes:
 *
 *     spool_future *never; spool_future_create(&never);
 *     spool_yield_wait(&never, 1, 0.5, SPOOL_ALL_COMPLETED, NULL);  // ETIMEDOUT
 *
 * At the max_fibers cap the task waits nested, as spool_yield_until_done
 * does: its timer still fires at the deadline, but the call returns only
 * once the work its worker ran above it on the same stack has returned. So
 * if that work itself waits (nested, at the cap), for a longer time or for
 * something this task would do after its timeout, the return comes that
 * much later, or never: the fiber cap's usual caveat (see
 * spool_yield_until_done), and raising max_fibers is the fix. */
int spool_yield_wait(spool_future **fs, size_t n, double timeout, spool_return_when when,
                     size_t *ndone);

/* ---- Fork-join ----------------------------------------------------------- */

/* Makes fn(arg) available to other workers; no allocation, no reference
 * counting. On a thread that is no spool worker it runs fn at once and
 * spool_sync() returns its outcome. A NULL t does nothing; a NULL fn forks
 * nothing and makes the following spool_sync(t) return SPOOL_EINVAL. */
void spool_fork(spool_task *t, spool_fn fn, void *arg);

/* Returns fn's code, unchanged (runtime codes included: a task may return
 * the code a wait gave it), and result (*result NULL when the code is
 * nonzero);
 * SPOOL_EINVAL for a NULL t, or after a spool_fork() given a NULL fn.
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
 * undefined behaviour. A frame is synced once per fork. A second
 * spool_sync() (or SPOOL_SYNC) of it aborts with a message when the first
 * took the frame back in the library (SPOOL_NO_INLINE, targets without the
 * inline path, a frame published and not taken) or inline in code compiled
 * without NDEBUG; it returns the outcome again when a thief ran the frame or
 * it was forked outside a worker; after an inline take compiled with
 * NDEBUG it may wait for ever. */
int spool_sync(spool_task *t, void **result);

/* Runs a root task on `ex` and waits for it: the entry point from main().
 * Returns fn's code (unchanged, as spool_sync() does), or a runtime code. Inside a task of `ex` it
 * calls fn inline. */
int spool_run(spool_executor *ex, spool_fn fn, void *arg, void **result);

/* ---- Parallel loops and map --------------------------------------------- */

/* A loop body: handles the indices [lo, hi) (never empty) and returns 0, or
   an error code that stops the loop. */
typedef int (*spool_range_fn)(size_t lo, size_t hi, void *ctx);

/* Calls body(lo, hi, ctx) on disjoint, non-empty subranges whose union is
 * exactly [begin, end), in parallel on the workers of `ex`, and returns
 * when every body has returned (everything the bodies did happens-before
 * the return). Any begin and end work, up to SIZE_MAX.
 *
 * grain >= 1: no subrange is longer than `grain`; the range is cut at
 *   begin + k * grain, so every subrange but the last is exactly `grain`
 *   long (unless the loop stops early).
 * grain 0: automatic. The range is cut into at most 64 pieces, kept as
 *   fork-join frames that other workers see only when they ask for work
 *   (lazy splitting): a loop whose workers are all busy runs at most 64
 *   bodies, one after the other (on one worker, a 10^6-iteration loop
 *   costs a few nanoseconds per iteration more than a plain loop), while
 *   a loop started when workers are idle (asleep or looking for work)
 *   offers half of its range at once; a piece taken by another worker is
 *   cut again, finer, so irregular loops balance. Use a grain when bodies
 *   must be short (to bound the latency of an early stop) or of a size.
 *
 * A body may wait with spool's waits (spool_future_result() and the other
 * blocking waits, the yields), even for work of a later index: the rest of
 * the range stays available to the other workers meanwhile (with one
 * worker, a yield lets that worker run it). A body that waits by other
 * means (a spin, a condition variable) keeps the rest of its worker's
 * range until it returns, so it must not wait for a later index.
 *
 * Where it runs. From a thread that is no worker of `ex` (main(), another
 * executor's worker) the loop runs as a root task and the caller blocks
 * until it is done, like spool_run(). From inside a task of `ex` it runs
 * within the task, by fork-join (spool_fork/spool_sync): the caller's
 * worker takes part, loops nest, and the task may continue on another
 * worker afterwards (see "Migration"). Bodies always run on workers of
 * `ex`. After spool_shutdown(), a call from outside returns
 * SPOOL_ESHUTDOWN (also when spool_shutdown(cancel_futures) cancels the
 * loop while its root task waits in the queue: then nothing ran); inside a
 * running task the loop runs, as forks do.
 *
 * Order. Subranges run in no particular order, concurrently on several
 * workers; bodies must only write what their own indices own.
 *
 * Errors. Returns SPOOL_OK, or the first nonzero code a body returned (in
 * time, unchanged, runtime codes included: a body may return the code of a
 * wait it made). Once the loop has the code (it stores it as the body
 * returns), no new body starts, except at most one per worker that was
 * already being started; bodies already running finish before the return.
 * Returns SPOOL_OK at once, without calling `body`, for begin >= end;
 * SPOOL_EINVAL for NULL `ex` or `body`; from outside, SPOOL_ESHUTDOWN or
 * SPOOL_ENOMEM (nothing ran). */
int spool_for(spool_executor *ex, size_t begin, size_t end, size_t grain, spool_range_fn body,
              void *ctx);

/* Python's Executor.map over an array: runs fn(args[i], &r) for every
 * i < n in parallel on the workers of `ex` (by spool_for with the automatic
 * grain), and stores r in results[i] (NULL when that call failed) and the
 * call's code in errors[i] (0 on success). `results` and `errors` may be
 * NULL. Every item runs, even after a failure (as in Python); each call's
 * *r is NULL on entry. Returns when all have returned: SPOOL_OK, or the
 * code of the lowest index that failed (Python's map raises the first
 * exception in order), unchanged. SPOOL_EINVAL for NULL `ex` or `fn`, or
 * `args` NULL with n > 0; n == 0 returns SPOOL_OK. Where it runs, and
 * SPOOL_ESHUTDOWN / SPOOL_ENOMEM: as spool_for(); then no item ran, and
 * `results` and `errors` are left as they were. */
int spool_map(spool_executor *ex, spool_fn fn, void *const *args, size_t n, void **results,
              int *errors);

/* ---- Task groups: a scoped join ----------------------------------------- *
 *
 * spool_join() covers the whole executor. A group lets a program that runs
 * several computations on one executor (a server's requests, two libraries
 * sharing it) join, cancel and account for one of them.
 *
 *     spool_group *g;
 *     spool_group_create(ex, &g);
 *     spool_group_submit(g, crawl, root, NULL);  // crawl submits more
 *     int rc = spool_group_join(g, SPOOL_FOREVER); // all of them, only them
 *     spool_group_destroy(g);
 *
 * Membership. A task submitted with spool_group_submit(g, ...) is a member
 * of g, and so is every task a member submits with spool_submit() (and
 * spool_submit_copy()), transitively: also from a frame the member forked,
 * whichever worker runs the frame and whenever. Forks belong to their task
 * anyway. spool_group_submit(g2, ...) from inside a member of g1 makes a
 * member of g2 only. A task belongs to at most one group. A submit to
 * another executor, and a task submitted from a done callback, inherit
 * nothing (a callback is not part of the task).
 *
 * Cost. Membership costs a submit one atomic read-modify-write of the
 * group (and a finish another); spool_fork() pays nothing for it.
 *
 * Lifetime. The executor must outlive every use of the group but
 * spool_group_destroy(): a group whose executor was destroyed (after its
 * members finished, as spool_executor_destroy() waits for them) may still
 * be destroyed, nothing else. At most 2^20 groups exist at once, each with
 * at most 2^29 unfinished members (beyond: SPOOL_ENOMEM). A destroyed
 * group's memory is kept for later groups (a few hundred bytes each).
 *
 * NULL where a group is needed: SPOOL_EINVAL (spool_group_cancelled():
 * false; spool_group_destroy(NULL) does nothing). */

/* A new, empty group of `ex` in *out (NULL on failure). SPOOL_EINVAL for a
 * NULL argument, SPOOL_ENOMEM. Creating a group schedules nothing, so it
 * also succeeds after spool_shutdown(). */
int spool_group_create(spool_executor *ex, spool_group **out);

/* spool_submit() on the group's executor, the task a member of g (and not
 * of the group the caller may belong to). Returns SPOOL_ECANCELLED (*out
 * NULL, nothing scheduled) once the group is cancelled, after a shutdown
 * too; otherwise as spool_submit(): SPOOL_ESHUTDOWN after
 * spool_shutdown(), SPOOL_ENOMEM. */
int spool_group_submit(spool_group *g, spool_fn fn, void *arg, spool_future **out);

/* Waits until every member has finished (a suspended member has not):
 * those submitted so far and every member they submit meanwhile. Members of
 * other groups and ungrouped tasks do not delay it; spool_join() still
 * waits for members too.
 *
 * Returns SPOOL_OK; SPOOL_ETIMEDOUT; or the error code of the first
 * fire-and-forget member that failed since the group's previous join
 * (exactly one of several concurrent joiners sees it; a join that times out
 * leaves it for the next). That error is also kept for spool_join(), so
 * neither scope loses it. A cancel is not an error: a join after
 * spool_group_cancel() returns SPOOL_OK unless a member failed.
 *
 * Inside a task the join waits cooperatively, with any timeout, as
 * spool_yield_wait() does: the task is suspended and the worker runs other
 * work (members included) meanwhile, so the task may resume on another
 * worker (see "Migration"); a timer resumes it at the deadline. Outside
 * tasks it blocks. A timeout of 0 polls.
 *
 * From one of g's own members (or a frame of one): SPOOL_ESTATE, since the
 * join would wait for its caller. A join from a task that a member of g is
 * waiting under (a member that ran it inline, e.g. by
 * spool_future_result()) waits for ever, and so does a join (or a destroy)
 * from a done callback of one of g's members: a member counts as finished
 * only after its callbacks have run. SPOOL_EINVAL for a NULL g or a NaN
 * timeout. */
int spool_group_join(spool_group *g, double timeout);

/* Cancels the group: every member not yet started is cancelled before the
 * call returns (its future becomes cancelled, its callbacks run; a
 * fire-and-forget member is dropped; both count in spool_stats.cancelled,
 * and as finished for the joins), and every later submit to the group
 * from anywhere, spool_submit() from inside a running member included,
 * returns SPOOL_ECANCELLED with *out NULL. Members already running or
 * suspended go on; they may poll spool_group_cancelled() to stop early. A
 * member whose submit raced with the cancel is cancelled when a worker
 * reaches it. To find queued members the call takes every queued item of
 * the executor as a thief and puts the others back (through the injection
 * queues), so it costs time in proportion to the executor's queued work.
 * Members that a concurrent spool_shutdown(cancel_futures) or a concurrent
 * cancel of the same group took first are cancelled too (they never
 * start), but that other call runs their callbacks and counts them, and
 * may still be doing so when this call returns: a spool_group_join() then
 * waits for it. Idempotent. SPOOL_OK, or SPOOL_EINVAL for NULL. */
int spool_group_cancel(spool_group *g);

/* Whether spool_group_cancel() was called on g (false for NULL). */
bool spool_group_cancelled(const spool_group *g);

/* spool_group_join(g, SPOOL_FOREVER) (cooperative inside a task; the
 * join's error, if any, is discarded), then frees the group. Futures of its
 * members stay valid. NULL does nothing. From inside one of g's members:
 * misuse (aborts with a message), since it would wait for itself. A second
 * destroy of g: misuse, which aborts with a message as long as no
 * spool_group_create() has reused g's memory (after that, like a double
 * free, it would destroy the new group). */
void spool_group_destroy(spool_group *g);

/* ---- Typed fork-join ----------------------------------------------------- *
 *
 * spool_fork/spool_sync box the work through spool_fn: a void * argument, a
 * void ** result and a call through a pointer. The typed form forks a plain
 * C function and, when no thief took the frame, its sync calls the function
 * directly, as a recursive call would:
 *
 *     long fib(long n);
 *     SPOOL_FORKABLE(long, fib, long);  // once per translation unit
 *
 *     long fib(long n) {
 *       if (n < 2) return n;
 *       spool_frame(fib) f;             // a typed frame, on the stack
 *       SPOOL_FORK(&f, fib, n - 1);     // n - 1 converted to long, kept in f
 *       long b = fib(n - 2);
 *       return SPOOL_SYNC(&f, fib) + b; // an expression of type long
 *     }
 *
 * SPOOL_FORKABLE(RET, NAME, T1, ..., Tk), 1 <= k <= 6
 *   For a function RET NAME(T1, ..., Tk) declared before it (NAME a plain
 *   identifier), defines the frame type and the static inline helpers that
 *   the macros below expand to, in the including translation unit. It may
 *   stand in a header beside NAME's declaration; a translation unit that
 *   never forks NAME compiles without warnings. Write each Ti as in the
 *   parameter list but without a top-level const; a type that cannot be
 *   written `T name` (a function pointer, a pointer to an array) or that
 *   contains commas needs a typedef first.
 * SPOOL_FORKABLE_VOID(NAME, T1, ..., Tk)
 *   The same for a function returning void.
 * spool_frame(NAME)
 *   The frame type: a struct that begins with a spool_task and holds the
 *   arguments and the result. Its contents are private.
 * SPOOL_FORK(frame, NAME, a1, ..., ak)
 *   As spool_fork(): evaluates each argument exactly once, converted as in
 *   a call to NAME (a wrong type is a compile error or warning), stores
 *   them in *frame, and makes NAME(a1, ..., ak) available to thieves. An
 *   argument may contain commas of its own (a compound literal). On a
 *   thread that is no worker it runs NAME at once.
 * SPOOL_SYNC(frame, NAME)
 *   As spool_sync(), but an expression of type RET (void for the VOID
 *   form): NAME's value. When the frame is still the newest of this
 *   worker's private (unpublished) frames it is taken back and NAME is
 *   called directly; in
 *   every other case (published, stolen, the task migrated) the library's
 *   spool_sync() runs or waits for it and the value the runner stored in
 *   the frame is returned.
 *
 * The rules of spool_task hold: frames are synced in the reverse order of
 * their forks (typed and untyped frames share that order and mix freely),
 * every frame is synced before the function that forked it returns (debug
 * builds check both, as for spool_task), and a frame may be forked again
 * after its sync. The forks and forks_stolen statistics count typed forks.
 * A typed task has no error code: its outcome is its value (fork a task
 * that can fail with spool_fork). The macros are standard C11 and C++; on
 * x86-64 and AArch64 with GCC or Clang, fork and sync are inline (see the
 * end of this file), elsewhere and with SPOOL_NO_INLINE they call the
 * library, with the same results. */

#ifdef __cplusplus
#define SPOOL__CAST(type, value) reinterpret_cast<type>(value)
#define SPOOL__NULL              nullptr
#else
#define SPOOL__CAST(type, value) ((type)(value))
#define SPOOL__NULL              ((void *)0)
#endif

/* The helpers are static inline, possibly unused: clang warns about an
   unused static inline function defined in the main file (a macro's
   expansion is), GCC does not. */
#if defined(__GNUC__)
#define SPOOL__LIKELY(c) __builtin_expect(!!(c), 1)
#define SPOOL__HELPER    static inline __attribute__((unused))
#else
#define SPOOL__LIKELY(c) (c)
#define SPOOL__HELPER    static inline
#endif

#define spool_frame(NAME)            struct spool__typed_##NAME
#define SPOOL_FORK(frame, NAME, ...) spool__fork_##NAME(frame, __VA_ARGS__)
#define SPOOL_SYNC(frame, NAME)      spool__sync_##NAME(frame)

#define SPOOL_FORKABLE(RET, NAME, ...)                                                             \
  SPOOL__FRAME(NAME, RET spool__result;, __VA_ARGS__)                                              \
  SPOOL__HELPER int spool__run_##NAME(void *spool__f, void **spool__r) {                           \
    spool_frame(NAME) *spool__fr = SPOOL__CAST(spool_frame(NAME) *, spool__f);                     \
    (void)spool__r;                                                                                \
    spool__fr->spool__result = NAME(SPOOL__LIST(SPOOL__ARG, __VA_ARGS__));                         \
    return 0;                                                                                      \
  }                                                                                                \
  SPOOL__FORK_FN(NAME, __VA_ARGS__)                                                                \
  SPOOL__HELPER RET spool__sync_##NAME(spool_frame(NAME) * spool__fr) {                            \
    if (SPOOL__LIKELY(SPOOL__TAKE(&spool__fr->spool__task)))                                       \
      return NAME(SPOOL__LIST(SPOOL__ARG, __VA_ARGS__));                                           \
    (void)(spool_sync)(&spool__fr->spool__task, SPOOL__NULL); /* the library's */                  \
    return spool__fr->spool__result;                                                               \
  }                                                                                                \
  struct spool__typed_##NAME /* the user's semicolon ends this declaration */

#define SPOOL_FORKABLE_VOID(NAME, ...)                                                             \
  SPOOL__FRAME(NAME, , __VA_ARGS__)                                                                \
  SPOOL__HELPER int spool__run_##NAME(void *spool__f, void **spool__r) {                           \
    spool_frame(NAME) *spool__fr = SPOOL__CAST(spool_frame(NAME) *, spool__f);                     \
    (void)spool__r;                                                                                \
    NAME(SPOOL__LIST(SPOOL__ARG, __VA_ARGS__));                                                    \
    return 0;                                                                                      \
  }                                                                                                \
  SPOOL__FORK_FN(NAME, __VA_ARGS__)                                                                \
  SPOOL__HELPER void spool__sync_##NAME(spool_frame(NAME) * spool__fr) {                           \
    if (SPOOL__LIKELY(SPOOL__TAKE(&spool__fr->spool__task))) {                                     \
      NAME(SPOOL__LIST(SPOOL__ARG, __VA_ARGS__));                                                  \
      return;                                                                                      \
    }                                                                                              \
    (void)(spool_sync)(&spool__fr->spool__task, SPOOL__NULL); /* the library's */                  \
  }                                                                                                \
  struct spool__typed_##NAME /* the user's semicolon ends this declaration */

/* The frame: the spool_task first (the library sees a spool_task and runs
   it through spool__run_NAME, a spool_fn whose argument is the frame). */
#define SPOOL__FRAME(NAME, RESULT_MEMBER, ...)                                                     \
  spool_frame(NAME) {                                                                              \
    spool_task spool__task;                                                                        \
    SPOOL__EACH(SPOOL__MEMBER, __VA_ARGS__)                                                        \
    RESULT_MEMBER                                                                                  \
  };

#define SPOOL__FORK_FN(NAME, ...)                                                                  \
  SPOOL__HELPER void spool__fork_##NAME(spool_frame(NAME) * spool__fr,                             \
                                        SPOOL__LIST(SPOOL__PARAM, __VA_ARGS__)) {                  \
    SPOOL__EACH(SPOOL__STORE, __VA_ARGS__)                                                         \
    spool_fork(&spool__fr->spool__task, spool__run_##NAME, spool__fr);                             \
  }

#define SPOOL__MEMBER(i, T) T spool__a##i;
#define SPOOL__PARAM(i, T)  T spool__a##i
#define SPOOL__STORE(i, T)  spool__fr->spool__a##i = spool__a##i;
#define SPOOL__ARG(i, T)    spool__fr->spool__a##i

/* SPOOL__EACH(M, T1..Tk): M(1, T1) ... M(k, Tk); SPOOL__LIST: the same,
   comma-separated. k is counted by SPOOL__NARG (at most 6). */
#define SPOOL__CAT(a, b)                             SPOOL__CAT_(a, b)
#define SPOOL__CAT_(a, b)                            a##b
#define SPOOL__NARG(...)                             SPOOL__NARG_(__VA_ARGS__, 6, 5, 4, 3, 2, 1, 0)
#define SPOOL__NARG_(t1, t2, t3, t4, t5, t6, n, ...) n
#define SPOOL__EACH(M, ...)                          SPOOL__CAT(SPOOL__EACH_, SPOOL__NARG(__VA_ARGS__))(M, __VA_ARGS__)
#define SPOOL__EACH_1(M, t1)                         M(1, t1)
#define SPOOL__EACH_2(M, t1, t2)                     M(1, t1) M(2, t2)
#define SPOOL__EACH_3(M, t1, t2, t3)                 M(1, t1) M(2, t2) M(3, t3)
#define SPOOL__EACH_4(M, t1, t2, t3, t4)             M(1, t1) M(2, t2) M(3, t3) M(4, t4)
#define SPOOL__EACH_5(M, t1, t2, t3, t4, t5)         M(1, t1) M(2, t2) M(3, t3) M(4, t4) M(5, t5)
#define SPOOL__EACH_6(M, t1, t2, t3, t4, t5, t6)                                                   \
  M(1, t1) M(2, t2) M(3, t3) M(4, t4) M(5, t5) M(6, t6)
#define SPOOL__LIST(M, ...)                  SPOOL__CAT(SPOOL__LIST_, SPOOL__NARG(__VA_ARGS__))(M, __VA_ARGS__)
#define SPOOL__LIST_1(M, t1)                 M(1, t1)
#define SPOOL__LIST_2(M, t1, t2)             M(1, t1), M(2, t2)
#define SPOOL__LIST_3(M, t1, t2, t3)         M(1, t1), M(2, t2), M(3, t3)
#define SPOOL__LIST_4(M, t1, t2, t3, t4)     M(1, t1), M(2, t2), M(3, t3), M(4, t4)
#define SPOOL__LIST_5(M, t1, t2, t3, t4, t5) M(1, t1), M(2, t2), M(3, t3), M(4, t4), M(5, t5)
#define SPOOL__LIST_6(M, t1, t2, t3, t4, t5, t6)                                                   \
  M(1, t1), M(2, t2), M(3, t3), M(4, t4), M(5, t5), M(6, t6)

/* ---- Observability ------------------------------------------------------- */

/* One worker's counters, or the totals with worker == -1. SPOOL_EINVAL for
 * NULL arguments or a worker index out of range. */
int spool_stats_read(spool_executor *ex, int worker, spool_stats *out);

/* ---- Tracing --------------------------------------------------------------
 *
 * With spool_config.trace_path set (or SPOOL_TRACE=path in the environment),
 * each worker records in memory, on its own thread: the items it runs (a
 * slice each: "task", "task (fire-and-forget)", "stolen fork frame",
 * "resume", and "continued" where a task resumed here after suspending
 * elsewhere), its steals (with the victim's index), suspends, resumes, and
 * its sleeps (a slice from going to sleep to being woken).
 * spool_executor_destroy() writes them to the path as a Chrome trace-event
 * JSON object: "traceEvents" with one track per worker (tid: the worker's
 * index, pid: the process; timestamps in microseconds from the executor's
 * creation), loadable in Perfetto (ui.perfetto.dev) or chrome://tracing, and
 * "otherData" with "spool_dropped_events" and "spool_epoch_monotonic_ns"
 * (the CLOCK_MONOTONIC time in nanoseconds of ts 0, so that a program can
 * place its own clock_gettime(CLOCK_MONOTONIC) readings on the trace).
 *
 * Memory is bounded: 2^18 events (4 MiB) per worker; events past that are
 * dropped and counted in spool_dropped_events (slices left open are closed
 * at the last event kept). Fork frames synced inline and tasks a blocking
 * wait runs inline are not recorded (they run inside the slice of the task
 * that forked or waited).
 *
 * The file is created (truncated) by spool_executor_create(), which fails
 * with SPOOL_EINVAL when it cannot be opened for writing, and written when
 * the executor is destroyed. A second executor of the same process with the
 * same path writes "path.2", a third "path.3", and so on, rather than
 * overwriting (a creation that fails removes its file and does not count,
 * unless a later creation has already claimed the next name). Off, each
 * event site costs one predictable branch; on, about
 * one clock read and a 16-byte store per event (perf/run --trace measures
 * it). */

/* ---- Inline fork-join fast path (implementation detail, not API) ---------
 *
 * On x86-64 and AArch64 with GCC or Clang, spool_fork() and spool_sync()
 * called by name, and the typed SPOOL_FORK/SPOOL_SYNC, expand to the
 * inline functions below, so a fork and a sync of a frame no thief took
 * cost no library call. They do exactly what the library's
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

/* The owner's view of its deque (runtime/deque.c). The private items, which
 * no other thread sees, form a list through the frames' `next`, newest
 * first, from `head`: a fork links its frame in front, and a sync whose
 * frame is still `head` unlinks it and runs the work itself. Written by the
 * owner thread only. The first three words belong to the inline path of
 * the 0.1 and 0.2 headers (a ring index): the library keeps them at values
 * that send those programs' forks and syncs to the library. */
typedef struct spool__lane {
  int64_t old_bottom;     /* 0.1/0.2 headers: 0 */
  int64_t old_split;      /* 0.1/0.2 headers: INT64_MAX */
  int64_t old_push_limit; /* 0.1/0.2 headers: INT64_MIN */
  int64_t unused;
  void *head;                 /* the newest private item, or NULL */
  const int *publish_request; /* nonzero: a thief asked for work (also found
                                 at SPOOL__LANE_REQUEST_OFFSET from the lane) */
  spool__run_fn frame_run;    /* what a thief calls to run a frame */
  uint64_t forks;             /* spool_stats.forks (relaxed) */
  uint32_t tag;               /* the running fiber's tag, for debug checks */
  uint64_t frame_word;        /* a frame's 8 bytes from `kind` to `tag`'s end, for one store */
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

/* Where the deque's request flag lies relative to its lane (deque.h
   asserts it): the inline fork reads it without loading the pointer. */
#define SPOOL__LANE_REQUEST_OFFSET (-64)

#define SPOOL__WORK_FRAME    2
#define SPOOL__FRAME_PENDING 0
/* A frame whose sync took it back on the fast path: marked so by the
   library's spool_sync() and, inline, by callers compiled without NDEBUG;
   a second spool_sync() of it then aborts with a message (the library
   checks), where it would wait for ever. */
#define SPOOL__FRAME_SYNCED 1

/* x86-64 or AArch64, ELF, LP64 (not x32 or ILP32), GCC or Clang: the
   thread-local access below is written for those ABIs. */
#if !defined(SPOOL_NO_INLINE) && !defined(SPOOL__LIBRARY) && defined(__GNUC__) &&                  \
    (defined(__x86_64__) || defined(__aarch64__)) && defined(__ELF__) && defined(__LP64__)
#define SPOOL_INLINE_FORK_JOIN 1

/* The library's side of the inline path (exported, not API). */
/* Named for the private-list protocol (0.3): a program built with this
   header does not load with an older libspool.so.0, whose lane it would
   corrupt; programs built with the 0.1/0.2 headers use spool__tls_lane. */
extern __thread spool__lane *spool__tls_lane_list __attribute__((tls_model("initial-exec")));

/* This thread's lane; on a thread that is no worker, an idle lane where
 * every fork and sync goes to the library (0.1's headers tested for NULL,
 * which still works). Read with a fresh
 * thread-pointer access every time (volatile asm, memory clobber): a task
 * may resume on another thread between a fork and its sync, and the
 * compiler would otherwise reuse a thread-local's address across calls
 * (DESIGN.md "Migration across threads"). The initial-exec model: the
 * variable's offset from the thread pointer, from the GOT. */
static inline spool__lane *spool__lane_self(void) {
  spool__lane *lane;
#if defined(__x86_64__)
  /* Both assembler dialects, for code built with -masm=intel. */
  __asm__ __volatile__("{movq spool__tls_lane_list@gottpoff(%%rip), %0|"
                       "mov %0, QWORD PTR spool__tls_lane_list@gottpoff[rip]}\n\t"
                       "{movq %%fs:(%0), %0|mov %0, QWORD PTR fs:[%0]}"
                       : "=r"(lane)
                       :
                       : "memory");
#else
  uintptr_t offset;
  __asm__ __volatile__("mrs %0, tpidr_el0\n\t"
                       "adrp %1, :gottprel:spool__tls_lane_list\n\t"
                       "ldr %1, [%1, #:gottprel_lo12:spool__tls_lane_list]\n\t"
                       "ldr %0, [%0, %1]"
                       : "=&r"(lane), "=&r"(offset)
                       :
                       : "memory");
#endif
  return lane;
}

static inline void spool__fork_inline(spool_task *t, spool_fn fn, void *arg) {
  spool__lane *lane = spool__lane_self();
  /* A NULL frame or function goes to the library (which ignores the one
     and records SPOOL_EINVAL for the other); for `&frame` and a named
     function the compiler folds the tests away. relaxed: a hint that
     thieves set (deque.c, "requests"); the library's spool_fork() answers
     it. A thread that is no worker has a request standing for ever. */
  const int *request =
      SPOOL__CAST(const int *, SPOOL__CAST(const char *, lane) + SPOOL__LANE_REQUEST_OFFSET);
  if (__builtin_expect(!t || !fn || __atomic_load_n(request, __ATOMIC_RELAXED) != 0, 0)) {
    spool_fork(t, fn, arg);
    return;
  }
  spool__frame *fr = SPOOL__CAST(spool__frame *, t);
  /* No `run`: the library runs frames by kind. kind and tag in one store.
     Everything a thief reads is written before the publication that
     shows it the frame (deque.c, I3); until then no thread but this one
     reads the frame. */
  const uint64_t word = lane->frame_word;
  __builtin_memcpy(SPOOL__CAST(char *, fr) + offsetof(spool__frame, kind), &word, sizeof word);
  fr->fn = fn;
  fr->arg = arg;
  /* relaxed: thieves read it after the publication (deque.c, I3). */
  const uintptr_t pending = SPOOL__FRAME_PENDING;
  __atomic_store_n(&fr->state, pending, __ATOMIC_RELAXED);
  /* Linked in front of the private list. The new head is the frame's own
     address, not a value loaded from the lane, so consecutive forks and
     syncs do not form one chain of loads and stores through memory
     (perf/spawn_ladder measures that chain at 2.8 ns a spawn). */
  fr->next = lane->head;
  lane->head = fr;
  /* relaxed: read by spool_stats_read() on other threads. */
  __atomic_store_n(&lane->forks, lane->forks + 1, __ATOMIC_RELAXED);
}

/* If t is the newest item of this worker's private list (no thief can see
 * it), unlinks it and returns true: the caller then runs the frame's work
 * itself. Otherwise false, and the library's spool_sync() must finish the
 * frame. A NULL t is never taken. */
static inline bool spool__take_inline(spool_task *t) {
  spool__lane *lane = spool__lane_self();
  spool__frame *fr = SPOOL__CAST(spool__frame *, t);
  if (__builtin_expect(!t || lane->head != fr, 0)) return false;
  /* The next value comes from the frame: no dependence on a load of the
     lane (see the fork). */
  lane->head = fr->next;
#ifndef NDEBUG
  /* relaxed: no other thread sees a frame that was never published; read
     only by this task's next spool_sync() of the frame, if any (the
     library's relaxed check of the mark). */
  const uintptr_t synced = SPOOL__FRAME_SYNCED;
  __atomic_store_n(&fr->state, synced, __ATOMIC_RELAXED);
#endif
  return true;
}

static inline int spool__sync_inline(spool_task *t, void **result) {
  if (__builtin_expect(!spool__take_inline(t), 0)) return spool_sync(t, result);
  /* Our own newest private frame, unseen by thieves: call fn. */
  spool__frame *fr = SPOOL__CAST(spool__frame *, t);
  void *r = SPOOL__NULL;
  int error = fr->fn(fr->arg, &r);
  if (__builtin_expect(error != 0, 0)) r = SPOOL__NULL; /* the code as it is */
  if (result) *result = r;
  return error;
}

#define SPOOL__TAKE(t) spool__take_inline(t)

/* Variadic, so that arguments with commas of their own (compound literals,
   C++ lambdas and templates) pass as they would to a function. */
#define spool_fork(...) spool__fork_inline(__VA_ARGS__)
#define spool_sync(...) spool__sync_inline(__VA_ARGS__)
#else
/* No inline path: a typed sync always goes through spool_sync(). */
#define SPOOL__TAKE(t) 0
#endif /* inline fast path */

#ifdef __cplusplus
}
#endif

#endif /* SPOOL_H */
