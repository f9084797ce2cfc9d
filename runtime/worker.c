/* The worker loop: pop own deque -> injection queues -> steal -> spin ->
 * sleep; every 61st search takes from the injection queues first, so
 * outside work is reached by a worker whose deque never empties.
 *
 * Exit. A worker leaves its loop when the executor is shut down and the
 * join counts are settled (every task counted created has finished: nothing
 * is queued, running or suspended), and then wakes the others so that they
 * notice too. Because a submission racing with shutdown is counted created
 * before it reads the state (executor.c), no task can appear after the
 * last worker has left.
 *
 * Sleeping follows park.c's protocol: announce, re-check every queue with
 * seq_cst loads, then sleep. */
#include "internal.h"
#include "overflow.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#ifdef SPOOL_TEST_HOOKS
/* Tests only (a library built with -DSPOOL_TEST_HOOKS, tests/hardening):
   called by a worker that has added a finished sleep to its total and not
   yet cleared the sleep's start. */
void (*volatile spool_test_hook_sleep_counted)(void);
#endif

/* How long an idle worker keeps searching before it sleeps: a few thread
   wake-ups' worth (one is about 5 us on the development machine), so a
   submit/result ping-pong or a short gap between bursts finds the worker
   awake, while an idle executor still sleeps within microseconds. */
#define IDLE_SPIN_NS 20000

/* How often a worker with local work looks at the injection queues first:
   61, Go's scheduler's period for its global run queue (prime, so it does
   not fall into step with a program's own periodic pattern). The cost when
   they are empty is one acquire load per queue (injector_maybe_nonempty). */
#define INJECTOR_POLL_TICKS 61u

static inline uint64_t rng_next(uint64_t *s) {
  /* xorshift64*: victim selection only needs to be cheap and spread. */
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

/* One steal attempt on each member of a level, from a random start;
   NULL when none had work. */
static work_item *worker_steal_level(worker *self, const plan_range *seg, int nseg) {
  spool_executor *ex = self->ex;
  unsigned n = victim_count(seg, nseg);
  if (n == 0) return NULL;
  unsigned start = (unsigned)(rng_next(&self->rng) % n);
  for (unsigned k = 0; k < n; k++) {
    worker *victim = &ex->workers[victim_member(&ex->victims, seg, nseg, (start + k) % n)];
    for (int attempt = 0; attempt < 4; attempt++) {
      work_item *item;
      int64_t index;
      STAT_ADD(self, steals_tried, 1);
      steal_status s = deque_steal_at(&victim->dq, &item, &index);
      if (s == STEAL_OK) {
        STAT_ADD(self, steals_won, 1);
        TRACE(self, TRACE_STEAL, (uint32_t)(victim - ex->workers));
        if (item->kind == WORK_FRAME) {
          STAT_ADD(self, forks_stolen, 1);
          frame_note_stolen(victim, item, index); /* debug builds only */
        }
        return item;
      }
      if (s == STEAL_EMPTY) break;
    }
  }
  return NULL;
}

/* A steal round, nearest victims first (victims.h): a farther level only
   after every nearer one came back empty. */
static work_item *worker_steal(worker *self) {
  spool_executor *ex = self->ex;
  if (ex->nworkers < 2) return NULL;
  plan_range seg[VICTIM_MAX_SEGMENTS];
  int nseg;
  for (unsigned level = 0;
       (nseg = victim_level(&ex->victims, self->index, level, seg, VICTIM_MAX_SEGMENTS)) >= 0;
       level++) {
    work_item *item = worker_steal_level(self, seg, nseg);
    if (item) return item;
  }
  return NULL;
}

void worker_publish(worker *self) {
  if (deque_publish(&self->dq, false)) park_notify(&self->ex->lot);
}

/* One item from the injection queues, the worker's own node's first. */
static work_item *worker_take_injected(worker *self) {
  spool_executor *ex = self->ex;
  for (unsigned k = 0; k < ex->ninjectors; k++) {
    work_item *item = injector_take(&ex->injectors[(self->node + k) % ex->ninjectors]);
    if (item) return item;
  }
  return NULL;
}

work_item *worker_find_work(worker *self) {
  /* Every INJECTOR_POLL_TICKS-th search looks at the injection queues
     before the deque: a worker whose own deque never empties (a task that
     keeps resubmitting itself, nested waits resuming continuations) must
     still reach outside submissions and continuations handed off by
     threads that are not workers (issue 9, defect 7). */
  if (++self->find_ticks % INJECTOR_POLL_TICKS == 0) {
    work_item *item = worker_take_injected(self);
    if (item) return item;
  }
  /* Due timers first: their continuations go onto this deque. With no
     timer queued this is one relaxed load. */
  timer_fire_due(&self->ex->timers, self);
  work_item *item = deque_pop(&self->dq);
  if (item) {
    if (deque_publish_requested(&self->dq)) worker_publish(self);
    return item;
  }
  item = worker_take_injected(self);
  if (item) return item;
  return worker_steal(self);
}

/* The re-check of the sleep protocol (park.c): seq_cst loads after the
   announcement, so a publication before the waker's fence is seen. */
static bool executor_has_visible_work(spool_executor *ex) {
  for (unsigned k = 0; k < ex->ninjectors; k++)
    if (load_seq_cst(&ex->injectors[k].count) > 0) return true;
  for (unsigned i = 0; i < ex->nworkers; i++)
    if (deque_nonempty_seq_cst(&ex->workers[i].dq)) return true;
  return false;
}

static bool worker_may_exit(spool_executor *ex) {
  return !executor_accepting(ex) && join_counts_settled(ex);
}

void worker_before_block(worker *self) {
  if (deque_size(&self->dq) == 0) return;
  deque_publish(&self->dq, true);
  /* Fenced either way: others must not sleep while this worker, about to
     block, leaves work behind. */
  park_notify(&self->ex->lot);
}

/* Waits for work (or for `done`) without spinning forever; returns true if
   the caller should search again, false if it may exit. */
static bool worker_idle(worker *self, bool (*done)(void *), void *arg) {
  spool_executor *ex = self->ex;
  /* Our deque is empty: give back a ring a burst grew, and retired rings
     (deque.c, "Shrinking"), before the joiner can see this worker idle. */
  bool trimmed = deque_trim(&self->dq);
  join_worker_idle(ex, self);
  int64_t spin_until = clock_now_ns() + IDLE_SPIN_NS;
  for (unsigned i = 1;; i++) {
    if ((done && done(arg)) || executor_has_visible_work(ex)) return true;
    if ((i & 7) == 0 && timer_due(&ex->timers, clock_now_ns())) return true;
    /* Yield now and then: with more threads than cores (a program's own
       thread waiting beside the workers), a spinning worker must not keep
       a runnable one off its core until the next scheduler tick. */
    if ((i & 7) == 0) {
      if (clock_now_ns() >= spin_until) break;
      sched_yield();
    } else {
      cpu_relax();
    }
  }
  if (!done && worker_may_exit(ex)) return false;
  /* Again before sleeping, if a thief was inside a steal at the first try:
     a sleeping worker must not hold rings it no longer needs. */
  if (!trimmed) deque_trim(&self->dq);
  uint32_t epoch = park_prepare(&ex->lot);
  /* Owners publish private work on request; renew the requests now that the
     sleep is announced, so none is answered behind our back (deque.c). */
  for (unsigned i = 0; i < ex->nworkers; i++)
    if (&ex->workers[i] != self) deque_request_publish(&ex->workers[i].dq);
  /* Sleep no longer than the earliest timer: read after the announcement
     (seq_cst), so a timer queued meanwhile either is seen here or wakes us
     (timer.c). */
  int64_t until = timer_earliest(&ex->timers);
  if ((done && done(arg)) || executor_has_visible_work(ex) || (!done && worker_may_exit(ex)) ||
      (until != DEADLINE_NONE && clock_now_ns() >= until)) {
    park_cancel(&ex->lot);
    return true;
  }
  /* release: pairs with the acquire loads in spool_stats_read(), which add
     a sleep in progress. */
  store_release(&self->stats.asleep_since, clock_now_ns());
  TRACE(self, TRACE_SLEEP_BEGIN, 0);
  int64_t ns = park_sleep(&ex->lot, epoch, until);
  TRACE(self, TRACE_SLEEP_END, 0);
  /* The sequence lock (stats.c): odd while the pair changes. relaxed: the
     release stores below order it before them, for a reader that acquires
     either of them. */
  uint32_t seq = load_relaxed(&self->stats.asleep_seq);
  store_relaxed(&self->stats.asleep_seq, seq + 1);
  /* release: pairs with the acquire loads in spool_stats_read(). */
  store_release(&self->stats.ns_asleep, load_relaxed(&self->stats.ns_asleep) + (uint64_t)ns);
  TEST_HOOK(sleep_counted);
  store_release(&self->stats.asleep_since, 0);
  /* release: pairs with the reader's acquire of the sequence, so a reader
     that sees it even again sees both stores above. */
  store_release(&self->stats.asleep_seq, seq + 2);
  return true;
}

worker *worker_help_once(worker *self, bool (*done)(void *arg), void *arg) {
  work_item *item = worker_find_work(self);
  if (item) {
    trace_run_begin(self, item->kind);
    self = work_item_run(item, self); /* may return on another worker */
    trace_run_end(self);
    return self;
  }
  worker_idle(self, done, arg);
  return self;
}

worker *worker_help_until(worker *self, bool (*done)(void *arg), void *arg) {
  while (!done(arg))
    self = worker_help_once(self, done, arg);
  return self;
}

worker *worker_loop(worker *self) {
  for (;;) {
    work_item *item = worker_find_work(self);
    if (item) {
      trace_run_begin(self, item->kind);
      self = work_item_run(item, self); /* may return on another worker */
      trace_run_end(self);
      continue;
    }
    if (!worker_idle(self, NULL, NULL)) break;
  }
  /* Others may be asleep with nothing left to do: let them see the exit. */
  park_notify_all(&self->ex->lot);
  return self;
}

void worker_loop_entry(void *transfer) {
  worker *self = worker_after_switch(transfer);
  self = worker_loop(self);
  /* Back to this thread's own stack, for good (fiber.h rule 4); the thread
     gives this fiber back. */
  fiber *from = self->current;
  self->to_release = from;
  trace_abandon(self, from);
  worker_set_current(self, &self->thread_fiber);
  fiber_switch_abandon(from, &self->thread_fiber, self);
}

/* Runs the loop on a fiber from the pool (acquired at start, so tasks can
   always be parked with the fiber they run on), and comes back to the
   thread's own stack when the loop ends. */
static void worker_run(worker *self, fiber *loop) {
  worker_set_current(self, loop);
  worker *back = fiber_switch(&self->thread_fiber, loop, self);
  worker_after_switch(back);
}

void *worker_thread_main(void *arg) {
  worker *self = arg;
  spool_executor *ex = self->ex;
  worker_set_self(self);
  char name[16];
  snprintf(name, sizeof name, "%.10s-%u", ex->name_prefix, self->index);
  pthread_setname_np(pthread_self(), name);
  topology_bind_self(self->bound ? &self->cpus : NULL);
  /* Memory the worker owns is first touched by its own thread, once bound,
     so that it lives on the worker's NUMA node: the deque's ring here; free
     lists and fiber stacks as the worker fills them. 256 items before the
     first growth: measured fib-style recursions stay below it; the deque
     doubles when needed. No thief reads the deque before every worker has
     started (start_released). */
  bool ring = deque_init(&self->dq, 8);
  if (ring) self->dq.lane.frame_run = forkjoin_frame_runner();
  bool traced = trace_worker_start(self) == 0;

  fiber_init_thread(&self->thread_fiber);
  worker_set_current(self, &self->thread_fiber);
  fiber_cache_init(&self->fibers, &ex->fibers);
  fiber *loop = fiber_acquire(&self->fibers, worker_loop_entry);

  /* A worker without its alternate signal stack would run without overflow
     detection: it refuses to start (creation fails with SPOOL_ENOMEM). */
  bool catch_overflow = ex->config.catch_stack_overflow && overflow_thread_init() == 0;
  bool overflow_missing = ex->config.catch_stack_overflow && !catch_overflow;

  int rc = ex->config.initializer ? ex->config.initializer(ex->config.initarg) : 0;
  pthread_mutex_lock(&ex->start_lock);
  ex->started++;
  if (!loop || !ring || !traced || overflow_missing) ex->start_nomem = true;
  if (rc != 0) ex->init_failed = true;
  pthread_cond_broadcast(&ex->start_cond);
  while (!ex->start_released)
    pthread_cond_wait(&ex->start_cond, &ex->start_lock);
  bool abort_start = ex->start_abort;
  pthread_mutex_unlock(&ex->start_lock);

  if (!abort_start)
    worker_run(self, loop);
  else if (loop)
    fiber_release(&self->fibers, loop);
  fiber_cache_destroy(&self->fibers);
  fiber_exit_thread(&self->thread_fiber);
  if (catch_overflow) overflow_thread_teardown();
  worker_set_self(NULL);
  return NULL;
}
