/* The structures shared inside the library.
 *
 * Every field of a shared struct says which thread writes it and which read
 * it; fields written by different threads are kept on different cache
 * lines. */
#ifndef SPOOL_INTERNAL_H
#define SPOOL_INTERNAL_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "spool.h"

#include "atomics.h"
#include "deque.h"
#include "fiber.h"

#include "park.h"
#include "trace.h"
#include "victims.h"
#include "timer.h"
#include "work.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Debug builds (no NDEBUG) check the fork-join rules (forkjoin.c). */
#ifndef NDEBUG
#define SPOOL_DEBUG_CHECKS 1
#endif

/* The most workers an executor may have (DESIGN.md, spool_config_init):
   more is SPOOL_EINVAL at once, and the default is clamped to it. */
#define SPOOL_MAX_WORKERS 4096u

/* Prints one line naming the misuse and its fix, then aborts (the only way
   the library ever prints). */
_Noreturn void spool_misuse(const char *message);

/* ---- Injection queue ---------------------------------------------------- */

/* A FIFO for work from threads that are not workers (and continuations
   completed there). One per NUMA node that has workers. */
typedef struct injector {
  pthread_mutex_t lock;
  work_item *head, *tail; /* under lock */
  /* Items queued. Written under lock (release), read without it by idle
     workers (acquire) so they can skip the lock when it is empty. */
  _Atomic int64_t count;
} injector;

void injector_init(injector *q);
void injector_destroy(injector *q);
void injector_push(injector *q, work_item *item);
work_item *injector_take(injector *q);
static inline bool injector_maybe_nonempty(injector *q) {
  /* acquire: pairs with the release store of count in injector_push(). */
  return load_acquire(&q->count) > 0;
}

/* ---- Workers ------------------------------------------------------------ */

/* Per-worker counters: written by the owner only (relaxed, no RMW), read by
   spool_stats_read() on any thread. */
typedef struct worker_stats {
  _Atomic uint64_t tasks_run, steals_tried, steals_won, inline_claims, suspends, resumes,
      forks_stolen, cancelled, nested_waits;
  /* forks: in the deque's lane (dq.lane.forks), beside what a fork writes. */
  _Atomic uint64_t ns_asleep;
  /* When the sleep in progress began (CLOCK_MONOTONIC ns), 0 while awake,
     so seconds_asleep includes a sleep in progress. Written by the owner
     (release) around each sleep, read by spool_stats_read() (acquire). */
  _Atomic int64_t asleep_since;
  /* Odd while the owner folds a finished sleep into ns_asleep and clears
     asleep_since: a sequence lock, so that a reader never pairs the new
     total with the old start (runtime/stats.c). */
  _Atomic uint32_t asleep_seq;
} worker_stats;

#define STAT_ADD(w, field, n) owner_add_relaxed(&(w)->stats.field, (n))

/* Test hooks: in a library built with -DSPOOL_TEST_HOOKS (tests/hardening),
   TEST_HOOK(name) calls spool_test_hook_<name> if a test has set it; the
   file that calls it defines the variable. Elsewhere it is nothing. */
#ifdef SPOOL_TEST_HOOKS
#define TEST_HOOK(name)                                                                            \
  do {                                                                                             \
    if (spool_test_hook_##name) spool_test_hook_##name();                                          \
  } while (0)
#else
#define TEST_HOOK(name) ((void)0)
#endif

/* Free list of fire-and-forget task items, so steady-state submission does
   not call malloc. Owner only. */
#define WORKER_FREE_ITEMS_MAX 1024 /* bounds what an idle worker hoards */

#ifdef SPOOL_DEBUG_CHECKS
/* Frames thieves took from a worker's deque, with their deque index, for
   the check that a task synced every frame it forked (forkjoin.c, "The
   stolen-frame ledger"). Entry i % STOLEN_LEDGER holds the latest frame
   stolen at an index i; item NULL: empty or synced. */
enum { STOLEN_LEDGER = 64 };
typedef struct stolen_ledger {
  /* A spinlock over `at`: a thief holds it for one entry, the owner for a
     scan of all. 0 free, 1 held. */
  _Atomic int lock;
  struct {
    int64_t index;
    const work_item *item;
  } at[STOLEN_LEDGER];
} stolen_ledger;
#endif

typedef struct worker {
  /* The owner's deque: owner pushes/pops, thieves steal. */
  deque dq;

  /* Termination detection (join.c): written by the owner only, read by
     joiners; own cache line so joiners do not disturb the owner. */
  _Alignas(SPOOL_CACHE_LINE) _Atomic uint64_t created;
  _Atomic uint64_t finished;
  /* 1 while the owner is inside spool_submit(), from before its state check
     to after its push; written by the owner only, read by a shutdown that
     cancels (executor.c, "Shutdown with cancel_futures"). */
  _Atomic uint32_t submitting;

  /* Owner-only fields. */
  _Alignas(SPOOL_CACHE_LINE) spool_executor *ex; /* immutable after create */
  unsigned index;                                /* immutable after create */
  unsigned node;                                 /* injector index, immutable */
  uint64_t rng;                                  /* victim selection */
  bool idle_announced;                           /* joiners told of this idle period */
  work_item *free_items;
  unsigned free_count;
  unsigned find_ticks; /* worker_find_work() calls, for its injector poll */
  worker_stats stats;
  pthread_t thread;

  /* Fibers (suspend.c). Owner-only: written and read by the thread this
     worker runs, whichever fiber that thread is on. */
  fiber thread_fiber;                     /* the thread's own stack */
  fiber *current;                         /* the fiber this thread runs now */
  fiber *to_release;                      /* abandoned by the last switch: give back */
  struct continuation *post_switch_token; /* dropped after the last switch */
  fiber_cache fibers;

  /* Trace events (trace.h): NULL when tracing is off. Owner only; read by
     the destroying thread after the worker is joined. */
  trace_buffer *trace;

  bool bound;     /* immutable: bind to `cpus` at start */
  cpu_set_t cpus; /* immutable */

#ifdef SPOOL_DEBUG_CHECKS
  /* Written by thieves and the owner, under its lock; off the owner's lines. */
  _Alignas(SPOOL_CACHE_LINE) stolen_ledger stolen;
#endif
} worker;

/* The worker running the calling thread, or NULL. Read through an
   out-of-line function with a compiler barrier, so that a caller never keeps
   a thread-local address across a point where its fiber may have moved to
   another thread (DESIGN.md "Migration across threads"). */
worker *worker_self(void);
void worker_set_self(worker *w);
/* The same thread-local, read directly on the fork-join fast path, where no
   switch point lies between the read and its use (initial-exec: one load
   from the thread pointer). */
extern _Thread_local worker *runtime_tls_worker __attribute__((tls_model("initial-exec")));

/* ---- Executor ----------------------------------------------------------- */

/* Outlives the executor while futures point at it (Python's weakref): a
   future reaches its executor through here, and destroy clears `ex`. */
typedef struct exec_handle {
  /* Written by create and (to NULL) by destroy (seq_cst); read by any thread
     holding a future (seq_cst, Dekker with `handoffs`). */
  _Atomic(spool_executor *) ex;
  /* Futures (and the executor) holding the handle; last one frees it. */
  _Atomic uint64_t refs;
  /* Threads outside the executor in the middle of a hand-off (a cancel that
     counts a task finished, a completion that pushes a continuation). They
     increment it before loading `ex`; destroy clears `ex` before waiting for
     it to reach zero, so each side sees the other (seq_cst). */
  _Atomic int64_t handoffs;
} exec_handle;

void handle_retain(exec_handle *h);
void handle_release(exec_handle *h);
/* Begin/end a hand-off from a thread that is not a worker; begin returns the
   executor, or NULL when it is gone (then call handoff_end all the same). */
spool_executor *handoff_begin(exec_handle *h);
void handoff_end(exec_handle *h);

enum { EXEC_RUNNING = 0, EXEC_SHUTDOWN = 1 };

struct spool_executor {
  unsigned nworkers;
  worker *workers; /* array; each worker is cache-line aligned */
  unsigned ninjectors;
  injector *injectors;
  exec_handle *handle;
  spool_config config;
  char name_prefix[16];

  park_lot lot;

  /* EXEC_RUNNING until spool_shutdown(); written once (seq_cst) by shutdown,
     read by submit (seq_cst, Dekker with the created counts) and workers. */
  _Alignas(SPOOL_CACHE_LINE) _Atomic int state;

  /* Termination detection for tasks created or finished by threads that are
     not workers (join.c): shared, so updated with atomic RMW. */
  _Alignas(SPOOL_CACHE_LINE) _Atomic uint64_t ext_created;
  _Atomic uint64_t ext_finished;
  /* Submissions by threads that are not workers in flight (as a worker's
     `submitting`; shared, so RMW). */
  _Atomic int64_t ext_submitting;
  /* The first error of a fire-and-forget task since the last join: set by a
     CAS from 0, taken by a join's exchange. */
  _Atomic int first_error;
  /* Joiners sleep here; workers going idle and outside finishes signal it. */
  event join_event;

  /* Startup: workers report their initializer's outcome under start_lock. */
  pthread_mutex_t start_lock;
  pthread_cond_t start_cond;
  unsigned started;    /* under start_lock */
  bool init_failed;    /* under start_lock */
  bool start_nomem;    /* under start_lock: a worker got no loop fiber */
  bool start_released; /* under start_lock: workers may begin their loop */
  bool start_abort;    /* under start_lock: workers must exit at once */

  /* The workers exit when shut down and nothing is left (worker.c); the
     first spool_shutdown(wait) joins the threads under exit_lock. */
  pthread_mutex_t exit_lock;
  bool threads_joined; /* under exit_lock */
  /* Held by a drain (shutdown's cancel, a group's cancel) while it holds
     queued items outside the queues (executor.c, "Drains"). */
  pthread_mutex_t drain_lock;
  /* Workers that have left their loop; written by each worker (release). */
  _Atomic unsigned exited;
  /* Fiber stacks of all workers (stack.c). */
  fiber_source fibers;
  bool fibers_ready; /* immutable after create: `fibers` initialised */

  /* OS CPU index -> injector, for submissions from outside. Immutable. */
  unsigned *cpu_node;
  unsigned cpu_node_len;
  /* More hardware threads than workers: a thread waiting from outside may
     spin briefly without taking a worker's core. Immutable. */
  bool spare_cpus;
  /* Tracing (trace.c): the open file (NULL: off), its name, the time the
     trace starts, and the claim on the path that chose the name (given
     back if the creation fails). Written at create and destroy only. */
  FILE *trace_file;
  char *trace_name;
  int64_t trace_epoch_ns;
  struct trace_path_use *trace_path_use;
  unsigned trace_path_claim;
  /* Steal order of every worker, nearest first (victims.h). Immutable. */
  victim_map victims;
  /* Tasks cancelled by threads that are not workers (stats). */
  _Atomic uint64_t ext_cancelled;
  /* Deadlines of suspended cooperative waits (timer.c); workers fire them
     in their loop and sleep no longer than the earliest. */
  timer_heap timers;
};

bool executor_accepting(spool_executor *ex);

/* Schedules an item: onto `self`'s deque when the caller is a worker of
   `ex`, else onto an injection queue, and wakes a worker if one sleeps.
   The item is already counted created. Returns false only if the deque
   could not grow (out of memory). */
bool executor_schedule(spool_executor *ex, worker *self, work_item *item);

/* `self` if it is a worker of `ex`, else NULL. */
static inline worker *worker_of(spool_executor *ex, worker *self) {
  return self && self->ex == ex ? self : NULL;
}

/* ---- Worker loop (worker.c) --------------------------------------------- */

void *worker_thread_main(void *arg);
/* One attempt to find work: own deque, injection queues, steal. */
work_item *worker_find_work(worker *self);
/* Runs other work while `done(arg)` is false; used by waits inside tasks
   that must not block the worker. Returns the worker it is on afterwards. */
worker *worker_help_until(worker *self, bool (*done)(void *arg), void *arg);
/* One step of it: runs one item found, or idles once (until woken or
   done(arg)). Returns the worker it is on afterwards. */
worker *worker_help_once(worker *self, bool (*done)(void *arg), void *arg);
/* Before a worker blocks its thread or parks a task: publish its private
   region and wake a sleeper if it leaves work in its deque. */
void worker_before_block(worker *self);
/* A thief asked for work: publish part of the private region and wake a
   sleeper (fenced: the thief may be about to sleep). */
void worker_publish(worker *self);

/* ---- Task groups (group.c) ---------------------------------------------- */

/* A task's group travels with the task: in its fiber while it runs
   (fiber.group), and in the tag of every frame it forks (the tag the fork
   already writes, so forking costs nothing more). A tag with GROUP_TAG_BIT
   carries the group's slot index in bits 11-30 and a hash of the forking
   fiber in bits 0-10 (for the debug checks of forkjoin.c). */
#define GROUP_TAG_BIT        0x80000000u
#define GROUP_TAG_SLOT_SHIFT 11
#define GROUP_TAG_FIBER_MASK 0x7ffu

/* The state word of a group: members counted and not yet finished, and two
   flags. Every member's submit adds one (one shared atomic per group task),
   its finish takes one away. */
#define GROUP_JOINERS   0x80000000u /* someone waits for the count to reach 0 */
#define GROUP_CANCELLED 0x40000000u /* spool_group_cancel() was called */
#define GROUP_COUNT     0x3fffffffu

/* Groups live in type-stable slots (group.c): a slot is never returned to
   the allocator, so a finishing member that signals a group's joiners
   after the group was destroyed touches a live object (a spurious wake-up
   for the slot's next group at worst). */
struct spool_group {
  /* Immutable while the slot exists: GROUP_TAG_BIT | slot << shift. */
  uint32_t tag;
  /* Set by create; read by cancel (its drain). */
  spool_executor *ex;
  /* GROUP_COUNT | GROUP_CANCELLED | GROUP_JOINERS: RMW by submitters,
     finishers, joiners and cancel; own cache line (the shared atomic). */
  _Alignas(SPOOL_CACHE_LINE) _Atomic uint32_t state;
  /* The first error of a fire-and-forget member since the last join: CAS
     from 0 by a finishing member, exchange by a join that returns. */
  _Atomic int first_error;
  /* Type-stable (initialised once per slot, never destroyed): blocking
     joiners sleep on `joined`; cooperative joiners (inside a task) yield
     on `zero` (a created future, under lock), completed by the member whose
     finish brings the count to 0 with GROUP_JOINERS set. */
  _Alignas(SPOOL_CACHE_LINE) event joined;
  pthread_mutex_t lock;
  spool_future *zero;     /* under lock */
  spool_group *next_free; /* the registry's free list, under its lock */
};

static inline uint32_t group_context_tag(const spool_group *g, const fiber *f) {
  uint32_t h = (uint32_t)(((uint64_t)(uintptr_t)f * 0x9E3779B97F4A7C15ull) >> 53);
  return g->tag | (h & GROUP_TAG_FIBER_MASK);
}

/* The group a frame's tag names (NULL: an ungrouped task's frame). */
spool_group *group_of_tag(uint32_t tag);
/* Frees the group registry (group.c keeps its slots for the life of the
   process) if no group exists; the next group makes it again. Only while
   no executor exists: a tag may be looked up by any worker. For checkers
   that account for every allocation (tests/faults). */
void group_registry_release(void);

/* The group of the task running on `self` (a worker of the executor the
   caller submits to, or NULL): what spool_submit() and spool_submit_copy()
   give the task they schedule. */
static inline spool_group *group_of_current_task(worker *self) {
  return self ? self->current->group : NULL;
}

/* A member enters before it is published (counted, like join's R1):
   SPOOL_OK, SPOOL_ECANCELLED (the group is cancelled) or SPOOL_ENOMEM (too
   many members); on failure nothing is counted. */
int group_member_enter(spool_group *g);
/* A member finished (ran, was cancelled or dropped), after its callbacks;
   or a submission that entered withdraws. The caller's last access to g. */
void group_member_finished(spool_group *g);
/* A fire-and-forget member failed (before group_member_finished()). */
void group_record_error(spool_group *g, int error);
/* Whether a member about to start must be cancelled instead. The caller
   holds an unfinished member, so g is alive. */
static inline bool group_member_cancelled(spool_group *g) {
  /* acquire: pairs with the fetch_or of GROUP_CANCELLED in
     spool_group_cancel() (any order would do: a late cancel simply lets the
     member run, as for a member that started first). */
  return (load_acquire(&g->state) & GROUP_CANCELLED) != 0;
}

/* ---- Suspension (suspend.c) --------------------------------------------- */

/* A suspended task: its parked fiber, and how many events it still waits
   for (plus one token its own worker drops once the switch away from the
   fiber is complete, so it cannot be resumed before it is suspended). */
typedef struct continuation {
  work_item item; /* WORK_RESUME */
  fiber *parked;
  spool_executor *ex;
  _Atomic int64_t remaining;
  /* A nested wait's (below): the event that leaves only the token wakes the
     sleepers, since the wait's own loop may be asleep. Immutable. */
  bool nested;
} continuation;

/* One awaited event happened on `completer`'s thread (NULL: not a worker):
   when it was the last, the continuation goes onto the completer's deque,
   or an injection queue. */
void continuation_signal(continuation *c, worker *completer);
/* Initialises c for the running task with `waits` events plus the token. */
void continuation_init(continuation *c, spool_executor *ex, int64_t waits);
/* A fresh loop fiber to continue on, or NULL when the task cannot be parked
   (no fiber left under max_fibers, or the worker runs on its thread's
   stack); the caller then waits nested. */
fiber *suspend_prepare(worker *self);
/* Parks the running task's fiber with c (prepared by suspend_prepare() and
   continuation_init()) and returns, on whichever worker resumed it, once c
   has been signalled for every wait. */
worker *suspend_park(worker *self, continuation *c, fiber *next);
/* Gives back a fiber from suspend_prepare() that was not needed. */
void suspend_unprepare(worker *self, fiber *next);
/* A wait at the fiber cap: the task waits on its own stack, its worker
   running other work there until every event has signalled c (the same
   counting as a parked task's, the token held by the running wait). If
   that loop resumes another fiber, the waiting fiber parks with c until
   the events are done (suspend.c: why this cannot livelock). */
typedef struct nested_wait {
  continuation c;
  struct nested_wait *below; /* the next older nested wait on this fiber */
} nested_wait;
/* Initialises nw for `events` events (each signals &nw->c once). */
void nested_wait_init(nested_wait *nw, spool_executor *ex, int64_t events);
/* Runs other work until every event has signalled; counts a nested wait.
   Returns the worker it is on afterwards. */
worker *nested_wait_run(worker *self, nested_wait *nw);
/* Whether the running fiber has room to run an awaited task inline: a
   quarter of its stack still free (256 KiB of the default 1 MiB, for the
   inline task's own needs). Every blocking wait that runs awaited tasks
   inline (future_try_run_inline) asks it: a chain of tasks each waiting on
   the next (a recursion through submit-then-result, a make-like DAG
   submitted in reverse) would otherwise nest one inline run per link and
   overflow the stack. Past it the wait suspends the task instead, and the
   awaited task runs from its queue on a fresh stack. (A quarter, not
   half: tests/suspend/chain.c runs 300 levels inline on one stack, which
   takes more than half of it under AddressSanitizer.) A thread's own stack
   (an initializer's) has no known bounds: always room. */
static inline bool stack_has_room_for_inline(const worker *self) {
  const fiber *f = self->current;
  if (!f->stack_lo) return true;
  const char *here = __builtin_frame_address(0);
  return here > f->stack_lo && (size_t)(here - f->stack_lo) > f->stack_size / 4;
}
/* Entry of a worker's loop fiber. */
void worker_loop_entry(void *transfer);
/* What a fiber does first after a switch to it: release the abandoned
   fiber, drop a token. Returns its argument. */
worker *worker_after_switch(worker *self);
/* The worker loop; returns the worker it ends on, when it may exit. */
worker *worker_loop(worker *self);

/* A fiber's tag, written into the frames forked on it; debug builds use it
   to tell whose frames lie in the private region (forkjoin.c). The top bit
   is clear: a tag with it set names a task group (group_context_tag()). */
static inline uint32_t fiber_tag(const fiber *f) {
  return (uint32_t)((uintptr_t)f >> 4) & ~GROUP_TAG_BIT;
}
/* The tag of the task running on f: its fiber's, or, for a group's task,
   the group's with a hash of the fiber (group.c). */
static inline uint32_t fiber_context_tag(const fiber *f) {
  return f->group ? group_context_tag(f->group, f) : fiber_tag(f);
}
/* The 8 bytes of a frame from `kind` to the end of `tag` (padding zero),
   for a frame forked on a fiber of tag `tag`: spool.h's inline fork writes
   them with one store of spool__lane.frame_word. */
static inline uint64_t spool__frame_word(uint32_t tag) {
  _Static_assert(offsetof(spool__frame, tag) + sizeof(uint32_t) - offsetof(spool__frame, kind) ==
                     sizeof(uint64_t),
                 "kind and tag span 8 bytes");
  spool__frame f;
  memset(&f, 0, sizeof f);
  f.kind = SPOOL__WORK_FRAME;
  f.tag = tag;
  uint64_t word;
  memcpy(&word, &f.kind, sizeof word);
  return word;
}

/* Switches the worker's record of the fiber it runs, and the tag the
   inline fork writes into frames (spool.h: spool__lane.tag). */
static inline void worker_set_current(worker *self, fiber *f) {
  self->current = f;
  self->dq.lane.tag = fiber_context_tag(f);
  self->dq.lane.frame_word = spool__frame_word(self->dq.lane.tag);
}

/* Runs a task (or a stolen frame) of group g on the current fiber:
   installs g as the fiber's group and the lane's tag; returns the group to
   restore with group_scope_leave() on the worker the task returns on (the
   same fiber, maybe another worker). */
static inline spool_group *group_scope_enter(worker *self, spool_group *g) {
  fiber *f = self->current;
  spool_group *saved = f->group;
  if (__builtin_expect(saved != g, 0)) {
    f->group = g;
    self->dq.lane.tag = fiber_context_tag(f);
    self->dq.lane.frame_word = spool__frame_word(self->dq.lane.tag);
  }
  return saved;
}
static inline void group_scope_leave(worker *self, spool_group *saved) {
  fiber *f = self->current;
  if (__builtin_expect(f->group != saved, 0)) {
    f->group = saved;
    self->dq.lane.tag = fiber_context_tag(f);
    self->dq.lane.frame_word = spool__frame_word(self->dq.lane.tag);
  }
}

/* What runs a queued frame, for the lane (spool.h spool__lane.frame_run,
   read by the inline forks of 0.1's header only). */
spool__run_fn forkjoin_frame_runner(void);
/* Runs a frame taken from a deque (forkjoin.c). */
worker *forkjoin_frame_run(work_item *item, worker *self);

/* Runs an item taken from a queue. A frame is run by kind: the inline
   fork of spool.h does not store its `run` (one load and one store fewer
   per spawn). */
static inline worker *work_item_run(work_item *item, worker *self) {
  if (item->kind == WORK_FRAME) return forkjoin_frame_run(item, self);
  return item->run(item, self);
}

/* ---- Fork-join debug checks (forkjoin.c; debug builds only) -------------- */

#ifdef SPOOL_DEBUG_CHECKS
/* relaxed: the worker's own counters (STAT_ADD), read by their owner. */
static inline uint64_t worker_parks(worker *self) {
  return load_relaxed(&self->stats.suspends) + load_relaxed(&self->stats.nested_waits);
}
/* Where the worker's deque ended before a task ran, to find frames the task
   forked and never synced when it returns. */
typedef struct frame_watch {
  worker *w;
  fiber *f;
  const work_item *head; /* the private list's newest item */
  int64_t split;         /* the public region's end */
  /* The worker's parks (suspends and nested waits) so far: while it does
     not change, no continuation of this task was ever queued. */
  uint64_t parks;
  uint32_t tag; /* the watched task's frames carry it */
  /* The caller's frame: everything the task put on the fiber's stack lies
     below it, and is dead once the task has returned. */
  const char *caller_frame;
} frame_watch;
/* always_inline: the frame address must be the caller's. */
static inline __attribute__((always_inline)) frame_watch frame_watch_begin(worker *self) {
  return (frame_watch){self,
                       self->current,
                       self->dq.lane.head,
                       self->dq.owner_split,
                       worker_parks(self),
                       self->dq.lane.tag,
                       (const char *)__builtin_frame_address(0)};
}
/* Aborts with a message if the task that `fw` watched left a frame behind. */
void frame_watch_end(frame_watch fw, worker *self);
/* Called by a thief that took the frame `item` at `index` of victim's deque. */
void frame_note_stolen(worker *victim, const work_item *item, int64_t index);
#else
typedef struct frame_watch {
  char unused;
} frame_watch;
static inline frame_watch frame_watch_begin(worker *self) {
  (void)self;
  return (frame_watch){0};
}
static inline void frame_watch_end(frame_watch fw, worker *self) {
  (void)fw;
  (void)self;
}
static inline void frame_note_stolen(worker *victim, const work_item *item, int64_t index) {
  (void)victim;
  (void)item;
  (void)index;
}
#endif

/* ---- Join (join.c) ------------------------------------------------------ */

void join_count_created(spool_executor *ex, worker *self);
void join_count_finished(spool_executor *ex, worker *self);
/* Undo of join_count_created() for a submission refused at shutdown. */
bool join_counts_settled(spool_executor *ex);
void join_worker_idle(spool_executor *ex, worker *self);
void join_record_error(spool_executor *ex, int error);

/* ---- Futures (future.c) ------------------------------------------------- */

enum future_state { FUTURE_PENDING, FUTURE_RUNNING, FUTURE_FINISHED, FUTURE_CANCELLED };

typedef struct future_waiter future_waiter;
/* Called under the future's lock when it completes, on the completing
   thread (`completer` is that thread's worker or NULL). */
typedef void (*future_notify_fn)(future_waiter *w, spool_future *f, worker *completer);
struct future_waiter {
  future_waiter *next, *prev; /* under the future's lock */
  future_notify_fn notify;
  void *ctx;
};

typedef struct callback_node {
  struct callback_node *next;
  spool_callback fn;
  void *user;
} callback_node;

struct spool_future {
  work_item item; /* the deque entry of a task future (WORK_TASK) */
  /* enum future_state. PENDING->RUNNING (CAS: the claim) and
     PENDING->CANCELLED (CAS) by any thread; ->FINISHED by the runner, under
     lock, release: pairs with the acquire loads in the queries. */
  _Atomic int state;
  _Atomic uint32_t refs;
  bool is_task;        /* immutable: false for spool_future_create() */
  spool_fn fn;         /* immutable */
  void *arg;           /* immutable */
  exec_handle *handle; /* immutable; NULL for created futures */
  /* A copied argument too large to share the future's allocation
     (spool_submit_copy); freed by whoever completes the future. */
  void *owned_copy;
  /* Immutable: the task group the task belongs to, or NULL. Dereferenced
     only while the task is unfinished (group.c: the group outlives its
     unfinished members). */
  spool_group *group;
  /* Written by the completer before the release store of FINISHED. */
  void *result;
  int error;
  /* Single-future waiters (result, exception, done loops) sleep here; the
     completer signals it after the state changes. */
  event done_event;
  pthread_mutex_t lock;
  future_waiter *waiters;              /* under lock */
  callback_node *callbacks, **cb_tail; /* under lock */
};

int future_new_task(spool_future **out, exec_handle *h, spool_fn fn, void *arg);
/* Copies of up to this many bytes share the future's allocation. */
#define FUTURE_INLINE_COPY_MAX 256
/* The same; with `copy`, the task gets its own copy of arg's `size` bytes
   (NULL for 0): spool_submit_copy(). */
int future_new_task_copy(spool_future **out, exec_handle *h, spool_fn fn, const void *arg,
                         size_t size, bool copy);
/* PENDING -> RUNNING; true if the caller now owns the run. */
bool future_claim(spool_future *f);
/* Runs a claimed task and completes it; returns the worker afterwards. */
worker *future_run_claimed(spool_future *f, worker *self, spool_executor *ex);
/* Registers w; returns false (not registered) if f is already done. */
bool future_add_waiter(spool_future *f, future_waiter *w);
void future_remove_waiter(spool_future *f, future_waiter *w);
int future_state(const spool_future *f);
/* spool_executor of a future, if alive (may race with destroy). */
spool_executor *future_executor_raw(const spool_future *f);
/* The future's outcome code once done: 0, error, or SPOOL_ECANCELLED. */
int future_outcome(const spool_future *f);
/* Blocks until f is done or the deadline; on a worker of f's executor with
   `run_inline` (any timeout but 0), claims and runs a queued task inline
   first. Returns 0 or SPOOL_ETIMEDOUT. */
int future_wait_done(spool_future *f, int64_t deadline, bool run_inline);
/* Whether a blocking wait with this timeout runs queued work inline on a
   worker: any timeout but 0 (which polls). */
bool timeout_runs_inline(double timeout);
/* Runs f's task inline if it is still queued, `self` is a worker of its
   executor and the stack has room (stack_has_room_for_inline); returns the
   worker afterwards. */
worker *future_try_run_inline(spool_future *f, worker *self);
/* Whether f is a task still queued on self's executor (self a worker, or
   NULL: false): one that a blocking wait on self would have run inline, so
   past the stack limit it must wait cooperatively, not hold the thread
   (the awaited task may be at the bottom of self's own deque). */
bool future_queued_on(const spool_future *f, const worker *self);
/* Cancels a task future that was taken out of a queue at shutdown; returns
   the worker afterwards (its callbacks may migrate the caller). */
worker *future_cancel_from(spool_future *f, worker *self);
/* The same in two steps, for the drains (executor.c, "Drains"): the claim
   (PENDING -> CANCELLED; true if this call won it, after which the task
   never runs), then, with no lock held, the completion: callbacks,
   waiters, the cancelled and finished counts. */
bool future_cancel_claim(spool_future *f);
worker *future_cancel_finish(spool_future *f, worker *self);

/* Fire-and-forget items (executor.c). */
worker *detached_run(work_item *item, worker *self);
void detached_free(work_item *item, worker *self);
/* Drops a queued fire-and-forget task without running it (a cancel):
   counted cancelled and finished, on `self`'s slot (NULL: not a worker). */
void detached_drop(spool_executor *ex, work_item *item, worker *self);
/* Takes the oldest item of queue i as a thief (worker i's deque for i <
   nworkers, else injection queue i - nworkers), retrying a lost race; NULL
   once the queue is empty. For the drains of shutdown and group cancel. */
work_item *executor_take_queued(spool_executor *ex, unsigned i);
/* A drain's bracket (executor.c, "Drains"): begin takes drain_lock; under
   it, drain_cancel_task() claims a taken task future (or releases the
   queue's reference if it cannot) and drain_drop_detached() sets a taken
   fire-and-forget task aside; the caller pushes back what it keeps before
   executor_drain_end(), which unlocks, then completes the cancelled tasks
   (callbacks) and drops the set-aside ones. Returns the worker the caller
   is on afterwards. */
typedef struct drain {
  /* In the order taken (oldest first), as the callbacks then run. */
  work_item *cancelled, **cancelled_tail, *dropped, **dropped_tail;
} drain;
void executor_drain_begin(spool_executor *ex, drain *d);
void drain_cancel_task(drain *d, spool_future *f);
void drain_drop_detached(drain *d, work_item *item);
worker *executor_drain_end(spool_executor *ex, drain *d, worker *caller);
/* The group of a queued fire-and-forget task, or NULL. */
spool_group *detached_group(const work_item *item);
/* spool_submit() with an explicit group (NULL: none), for
   spool_group_submit(). */
int executor_submit(spool_executor *ex, spool_group *g, spool_fn fn, void *arg, spool_future **out);

/* ---- Configuration and statistics -------------------------------------- */

int config_validate(const spool_config *c);
size_t config_round_stack(size_t bytes);
void stats_count_cancelled(spool_executor *ex, worker *self);

/* ---- Topology (topology.c: the only file that includes hwloc.h) ---------- */

/* Where the workers go, computed by one function of an hwloc topology
   (topology_plan_compute), so that tests can run it on synthetic ones. */
typedef struct topology_plan {
  unsigned workers;
  unsigned nodes;        /* injection queues: NUMA nodes with workers (>= 1) */
  cpu_set_t *cpus;       /* per worker: where to bind; NULL when unbound */
  unsigned *node;        /* per worker: injector index */
  int *pu;               /* per worker: OS index of its hardware thread in the
                            plan (-1: no topology); NUMA: one of its node's */
  unsigned *cpu_node;    /* OS CPU index -> injector index */
  bool spare_cpus;       /* more allowed hardware threads than workers */
  unsigned cpu_node_len; /* entries in cpu_node */
  victim_map victims;    /* steal order, nearest first */
} topology_plan;

/* Drops the topology the process keeps loaded (it is loaded once per
   process, topology.c); the next executor loads it again. For checkers that
   account for every allocation (tests/faults). */
void topology_cache_release(void);
/* Hardware threads in the process's allowed CPU set (at least 1). */
unsigned topology_default_workers(void);
/* Plans placement for `workers` workers (0: the default) on this machine
   (or the topology HWLOC_SYNTHETIC / HWLOC_XMLFILE describe: then nothing
   is bound). */
int topology_plan_make(topology_plan *p, unsigned workers, spool_bind bind);
/* The same from a loaded topology and the set of hardware threads the
   process may use (both hwloc types; NULL topology: one flat node). */
struct hwloc_topology;
struct hwloc_bitmap_s;
int topology_plan_compute(topology_plan *p, struct hwloc_topology *topo,
                          const struct hwloc_bitmap_s *allowed, unsigned workers, spool_bind bind);
void topology_plan_free(topology_plan *p);
/* Binds the calling thread to `cpus` (no-op for NULL). */
void topology_bind_self(const cpu_set_t *cpus);
/* The injector a thread that is not a worker should use. */
unsigned topology_current_node(const spool_executor *ex);

#endif /* SPOOL_INTERNAL_H */
