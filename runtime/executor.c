/* The executor: create, submit, shutdown, destroy.
 *
 * Lifetime. create starts the workers and waits for every initializer.
 * shutdown stops submissions; the workers leave their loop once shut down
 * and every task counted created has finished (worker.c); the first
 * shutdown(wait) joins the threads; destroy then drains what is left in the
 * queues (entries of tasks already cancelled or run inline), clears the
 * futures' executor pointer and waits for outside hand-offs in flight.
 *
 * Shutdown versus submit. A submission counts itself created (seq_cst)
 * before it reads the state (seq_cst); shutdown stores the state (seq_cst)
 * before anything checks whether the workers may exit. So either the
 * submission sees the shutdown and withdraws (counting itself finished), or
 * the exit check sees it created and the workers stay until it has run.
 *
 * Shutdown with cancel_futures. After spool_shutdown(ex, _, true) returns,
 * no task whose submit returned SPOOL_OK may start unless it was claimed
 * before the drain. A submission marks itself in flight (its worker's
 * `submitting`, or ext_submitting; seq_cst) before it reads the state
 * (seq_cst), and unmarks itself (release) after its push; shutdown stores
 * the state (seq_cst), then waits until no submission is in flight
 * (acquire), then drains the queues. In the seq_cst order either the
 * submission's state load comes first, so shutdown's later load of the mark
 * sees it in flight and waits for the unmark, which publishes the push to
 * the drain (release/acquire); or shutdown's store comes first and the
 * submission sees the shutdown and withdraws. The wait is short: a submit
 * in flight only allocates and pushes, never waits for shutdown.
 *
 * Drains. Shutdown's cancel and a group's cancel each take every queued
 * item as a thief, keep the items that are not theirs to cancel (other
 * tasks, frames, continuations) and push those back. Invariant: no drain
 * finds a queue empty while another holds an item taken from it. It holds
 * because each drain takes drain_lock before its first take and releases
 * it after its last push-back (executor_drain_begin/end), so a drain sees
 * every item another had taken. (Without it, a group cancel holding an
 * ungrouped task let a concurrent shutdown(cancel) return with the task
 * still to start, and two group cancels hid each other's members.) Under
 * the lock a drain only claims (PENDING -> CANCELLED) and collects; the
 * callbacks, the waiters and the counts come after the unlock, since a
 * callback may cancel, shut down or migrate its caller. A claimed task
 * never starts, so that is enough for each cancel's promise. */
#include "internal.h"
#include "overflow.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Noreturn void spool_misuse(const char *message) {
  /* One line, with write(2): this may run where stdio is not safe. */
  char line[512];
  int n = snprintf(line, sizeof line, "spool: %s\n", message);
  if (n > 0) {
    ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    (void)w;
  }
  abort();
}

const char *spool_strerror(int code) {
  switch (code) {
  case SPOOL_OK:
    return "success";
  case SPOOL_ECANCELLED:
    return "the future was cancelled";
  case SPOOL_ETIMEDOUT:
    return "the wait timed out";
  case SPOOL_ESHUTDOWN:
    return "the executor is shut down";
  case SPOOL_ENOMEM:
    return "out of memory";
  case SPOOL_EINVAL:
    return "invalid argument";
  case SPOOL_ESTATE:
    return "operation not allowed in this state";
  case SPOOL_EBROKEN:
    return "a worker initializer failed";
  case SPOOL_EEXHAUSTED:
    return "every future has been returned";
  default:
    return "task error"; /* any other code is a task's own */
  }
}

/* ---- The weak handle ---------------------------------------------------- */

void handle_retain(exec_handle *h) {
  /* relaxed: the caller holds a reference already (the executor's). */
  fetch_add_relaxed(&h->refs, 1);
}

void handle_release(exec_handle *h) {
  /* acq_rel: the last release sees every other holder's uses. */
  if (fetch_sub_acq_rel(&h->refs, 1) == 1) free(h);
}

spool_executor *handoff_begin(exec_handle *h) {
  /* seq_cst: Dekker with destroy (store ex = NULL, then load handoffs). */
  fetch_add_seq_cst(&h->handoffs, 1);
  return load_seq_cst(&h->ex);
}

void handoff_end(exec_handle *h) {
  /* release: pairs with destroy's acquire load of handoffs, so the
     hand-off's accesses to the executor happen before it is freed. */
  atomic_fetch_sub_explicit(&h->handoffs, 1, memory_order_release);
}

/* ---- Worker identity ---------------------------------------------------- */

_Thread_local worker *runtime_tls_worker __attribute__((tls_model("initial-exec")));
/* The worker's lane (&dq.lane), for the inline fork-join path of spool.h;
   set and cleared with runtime_tls_worker. Exported (spool.map); `used`
   (and for GCC `externally_visible`) because only the header's inline asm
   names it, which link-time optimisation cannot see. */
#if defined(__GNUC__) && !defined(__clang__)
#define EXPORTED_FOR_ASM __attribute__((used, externally_visible))
#else
#define EXPORTED_FOR_ASM __attribute__((used))
#endif
/* A thread that is no worker points at the idle lane instead of NULL, so
   the inline path needs no NULL test: a request stands on it for ever, so
   every fork goes to the library, and its private list is empty, so every
   sync does; the library sees runtime_tls_worker NULL. Never written. A
   whole deque, so that the request flag beside the lane exists too. The
   old words as deque_lane_init() sets them, for the 0.1/0.2 headers. */
static deque idle_deque = {
    .publish_request = 1,
    .lane =
        {
            .old_bottom = 0,
            .old_split = INT64_MAX,
            .old_push_limit = INT64_MIN,
            .head = NULL,
            .publish_request = (const int *)&idle_deque.publish_request,
        },
};
#define idle_lane idle_deque.lane
_Thread_local spool__lane *spool__tls_lane_list __attribute__((tls_model("initial-exec")))
EXPORTED_FOR_ASM = &idle_lane;
/* The same lane under its 0.1/0.2 name, for programs built with those
   headers (their inline path then always calls the library: deque.c,
   "Compatibility"). */
extern _Thread_local spool__lane *spool__tls_lane __attribute__((tls_model("initial-exec")));
_Thread_local spool__lane *spool__tls_lane __attribute__((tls_model("initial-exec")))
EXPORTED_FOR_ASM = &idle_lane;

__attribute__((noinline)) worker *worker_self(void) {
  /* The barrier stops the compiler from treating this as a pure function
     and reusing a result (or the TLS address) across a fiber switch. */
  __asm__ __volatile__("" ::: "memory");
  return runtime_tls_worker;
}

__attribute__((noinline)) void worker_set_self(worker *w) {
  __asm__ __volatile__("" ::: "memory");
  runtime_tls_worker = w;
  spool__tls_lane_list = w ? &w->dq.lane : &idle_lane;
  spool__tls_lane = spool__tls_lane_list;
}

spool_executor *spool_current_executor(void) {
  worker *w = worker_self();
  return w ? w->ex : NULL;
}

int spool_current_worker(void) {
  worker *w = worker_self();
  return w ? (int)w->index : -1;
}

unsigned spool_executor_workers(const spool_executor *ex) {
  return ex ? ex->nworkers : 0;
}

bool executor_accepting(spool_executor *ex) {
  /* seq_cst: see the file comment (shutdown versus submit). */
  return load_seq_cst(&ex->state) == EXEC_RUNNING;
}

/* ---- Scheduling --------------------------------------------------------- */

bool executor_schedule(spool_executor *ex, worker *self, work_item *item) {
  if (self) {
    bool answered;
    if (!deque_push(&self->dq, item, &answered)) return false;
    /* An answered request may have a thief asleep behind it: fenced. */
    if (answered)
      park_notify(&ex->lot);
    else
      park_notify_relaxed(&ex->lot);
    return true;
  }
  injector_push(&ex->injectors[topology_current_node(ex)], item);
  park_notify(&ex->lot);
  return true;
}

/* Fire-and-forget items: recycled through the running worker's free list.
   A copied argument (spool_submit_copy) of up to DETACHED_INLINE_COPY bytes
   lives in the item itself, so such submits do not allocate either; a
   larger one is `heap_copy`, freed with the item. */
#define DETACHED_INLINE_COPY 64
typedef struct detached_task {
  work_item item;
  spool_fn fn;
  void *arg;
  void *heap_copy; /* NULL, or arg's own allocation */
  _Alignas(max_align_t) unsigned char inline_copy[DETACHED_INLINE_COPY];
  spool_group *group; /* NULL, or the group it belongs to (group.c) */
} detached_task;

static detached_task *detached_alloc(worker *self) {
  if (self && self->free_items) {
    work_item *it = self->free_items;
    self->free_items = it->next;
    self->free_count--;
    return container_of(it, detached_task, item);
  }
  return malloc(sizeof(detached_task));
}

void detached_free(work_item *item, worker *self) {
  detached_task *t = container_of(item, detached_task, item);
  free(t->heap_copy);
  t->heap_copy = NULL;
  if (self && self->free_count < WORKER_FREE_ITEMS_MAX) {
    item->next = self->free_items;
    self->free_items = item;
    self->free_count++;
    return;
  }
  free(t);
}

/* Gives t its own copy of arg's `size` bytes; false (t freed) when out of
   memory. */
static bool detached_copy(detached_task *t, const void *arg, size_t size, worker *self) {
  if (size == 0) {
    t->arg = NULL;
  } else if (size <= DETACHED_INLINE_COPY) {
    t->arg = memcpy(t->inline_copy, arg, size);
  } else if ((t->heap_copy = malloc(size))) {
    t->arg = memcpy(t->heap_copy, arg, size);
  } else {
    detached_free(&t->item, self);
    return false;
  }
  return true;
}

spool_group *detached_group(const work_item *item) {
  return container_of(item, detached_task, item)->group;
}

void detached_drop(spool_executor *ex, work_item *item, worker *self) {
  spool_group *g = container_of(item, detached_task, item)->group;
  stats_count_cancelled(ex, self);
  detached_free(item, self);
  join_count_finished(ex, self);
  if (g) group_member_finished(g);
}

worker *detached_run(work_item *item, worker *self) {
  detached_task *t = container_of(item, detached_task, item);
  spool_executor *ex = self->ex;
  spool_group *g = t->group;
  if (g && group_member_cancelled(g)) {
    detached_drop(ex, item, self);
    return self;
  }
  void *result = NULL;
  spool_group *outer = group_scope_enter(self, g);
  frame_watch fw = frame_watch_begin(self);
  int error = t->fn(t->arg, &result);
  self = worker_self(); /* the task may have moved to another worker */
  frame_watch_end(fw, self);
  group_scope_leave(self, outer);
  STAT_ADD(self, tasks_run, 1);
  if (error) {
    /* Kept twice, unchanged (runtime codes too): for spool_join() and for
       the group's join. */
    join_record_error(ex, error);
    if (g) group_record_error(g, error);
  }
  detached_free(item, self);
  join_count_finished(ex, self);
  if (g) group_member_finished(g); /* the last access to g */
  return self;
}

#ifdef SPOOL_TEST_HOOKS
/* Tests only (a library built with -DSPOOL_TEST_HOOKS, tests/hardening):
   called by a submission that has passed its state check and not yet
   pushed, and by a shutdown that finds a submission in flight. */
void (*volatile spool_test_hook_submit_accepted)(void);
void (*volatile spool_test_hook_shutdown_waits)(void);
#endif

/* In flight (file comment, "Shutdown with cancel_futures"). */
static void submit_enter(spool_executor *ex, worker *self) {
  if (self) /* seq_cst: Dekker with spool_shutdown() (store state, load marks). */
    store_seq_cst(&self->submitting, 1);
  else
    fetch_add_seq_cst(&ex->ext_submitting, 1); /* seq_cst: the same Dekker */
}

static void submit_leave(spool_executor *ex, worker *self) {
  if (self)
    /* release: pairs with the acquire load in executor_wait_submits(), so
       the push is seen by the drain that follows. */
    store_release(&self->submitting, 0);
  else
    /* release: as above (a release sequence of RMWs). */
    atomic_fetch_sub_explicit(&ex->ext_submitting, 1, memory_order_release);
}

/* After the state is stored: waits until no submission is in flight. */
static void executor_wait_submits(spool_executor *ex) {
  for (unsigned i = 0; i < ex->nworkers; i++)
    /* seq_cst (includes acquire): the Dekker load; pairs with the release
       in submit_leave(). */
    while (load_seq_cst(&ex->workers[i].submitting) != 0) {
      TEST_HOOK(shutdown_waits);
      sched_yield();
    }
  while (load_seq_cst(&ex->ext_submitting) != 0) {
    TEST_HOOK(shutdown_waits);
    sched_yield();
  }
}

/* Schedules fn(arg) as a task of group g (NULL: none); with `copy`, the
   task gets its own copy of arg's `size` bytes (spool_submit_copy). The
   caller has checked ex, fn and arg and cleared *out. */
static int submit_task(spool_executor *ex, worker *self, spool_group *g, spool_fn fn,
                       const void *arg, size_t size, bool copy, spool_future **out) {
  /* A cancelled group's code first, as spool.h documents (also after a
     shutdown: found by tests/fuzz/api_sequence.c). */
  if (!executor_accepting(ex))
    return g && spool_group_cancelled(g) ? SPOOL_ECANCELLED : SPOOL_ESHUTDOWN;
  if (g) {
    /* Counted before it is published (group.c), or refused if cancelled. */
    int rc = group_member_enter(g);
    if (rc != SPOOL_OK) return rc;
  }

  work_item *item;
  spool_future *f = NULL;
  if (out) {
    int rc = future_new_task_copy(&f, ex->handle, fn, arg, size, copy);
    if (rc != SPOOL_OK) {
      if (g) group_member_finished(g);
      return rc;
    }
    f->group = g;
    spool_future_retain(f); /* the queue's reference */
    item = &f->item;
  } else {
    detached_task *t = detached_alloc(self);
    if (!t) {
      if (g) group_member_finished(g);
      return SPOOL_ENOMEM;
    }
    t->fn = fn;
    t->arg = (void *)arg;
    t->group = g;
    t->heap_copy = NULL;
    if (copy && !detached_copy(t, arg, size, self)) { /* it freed t */
      if (g) group_member_finished(g);
      return SPOOL_ENOMEM;
    }
    t->item.kind = WORK_DETACHED;
    t->item.run = detached_run;
    item = &t->item;
  }

  join_count_created(ex, self);
  submit_enter(ex, self);
  /* Re-check after counting (file comment): a submission racing with
     shutdown either withdraws here or is waited for by the workers, and
     by a shutdown that cancels. */
  bool accepted = executor_accepting(ex);
  if (accepted) TEST_HOOK(submit_accepted);
  bool scheduled = accepted && executor_schedule(ex, self, item);
  submit_leave(ex, self);
  if (!scheduled) {
    int rc = accepted ? SPOOL_ENOMEM : SPOOL_ESHUTDOWN;
    join_count_finished(ex, self);
    if (f) {
      spool_future_release(f);
      spool_future_release(f);
    } else {
      detached_free(item, self);
    }
    if (g) group_member_finished(g);
    return rc;
  }
  if (out) *out = f;
  return SPOOL_OK;
}

int spool_submit(spool_executor *ex, spool_fn fn, void *arg, spool_future **out) {
  if (out) *out = NULL;
  if (!ex || !fn) return SPOOL_EINVAL;
  worker *self = worker_of(ex, worker_self());
  /* A task submitted by a group's task (or one of its stolen frames)
     belongs to that group. */
  return submit_task(ex, self, group_of_current_task(self), fn, arg, 0, false, out);
}

int spool_submit_copy(spool_executor *ex, spool_fn fn, const void *arg, size_t size,
                      spool_future **out) {
  if (out) *out = NULL;
  if (!ex || !fn || (!arg && size)) return SPOOL_EINVAL;
  worker *self = worker_of(ex, worker_self());
  return submit_task(ex, self, group_of_current_task(self), fn, arg, size, true, out);
}

int executor_submit(spool_executor *ex, spool_group *g, spool_fn fn, void *arg,
                    spool_future **out) {
  if (out) *out = NULL;
  if (!ex || !fn) return SPOOL_EINVAL;
  return submit_task(ex, worker_of(ex, worker_self()), g, fn, arg, 0, false, out);
}

/* ---- Create ------------------------------------------------------------- */

static void executor_free(spool_executor *ex) {
  trace_discard(ex); /* a failed creation: no trace (reads the workers) */
  for (unsigned i = 0; i < ex->nworkers; i++) {
    worker *w = &ex->workers[i];
    deque_destroy(&w->dq);
    while (w->free_items) {
      work_item *it = w->free_items;
      w->free_items = it->next;
      free(container_of(it, detached_task, item));
    }
  }
  for (unsigned i = 0; i < ex->ninjectors; i++)
    injector_destroy(&ex->injectors[i]);
  free(ex->injectors);
  free(ex->workers);
  free(ex->cpu_node);
  victim_map_free(&ex->victims);
  pthread_mutex_destroy(&ex->start_lock);
  pthread_cond_destroy(&ex->start_cond);
  pthread_mutex_destroy(&ex->exit_lock);
  pthread_mutex_destroy(&ex->drain_lock);
  timer_heap_destroy(&ex->timers);
  if (ex->fibers_ready) fiber_source_destroy(&ex->fibers);
  if (ex->handle) handle_release(ex->handle);
  free(ex);
}

int spool_executor_create(spool_executor **out, const spool_config *c) {
  if (!out) return SPOOL_EINVAL;
  *out = NULL;
  spool_config defaults;
  if (!c) {
    spool_config_init(&defaults);
    c = &defaults;
  }
  int rc = config_validate(c);
  if (rc != SPOOL_OK) return rc;

  topology_plan plan;
  rc = topology_plan_make(&plan, c->workers, c->bind);
  if (rc != SPOOL_OK) return rc;

  spool_executor *ex = calloc(1, sizeof *ex);
  if (!ex) {
    topology_plan_free(&plan);
    return SPOOL_ENOMEM;
  }
  ex->config = *c;
  ex->config.env_error = NULL;
  snprintf(ex->name_prefix, sizeof ex->name_prefix, "%s",
           c->thread_name_prefix ? c->thread_name_prefix : "spool");
  ex->config.thread_name_prefix = ex->name_prefix;
  pthread_mutex_init(&ex->start_lock, NULL);
  pthread_cond_init(&ex->start_cond, NULL);
  pthread_mutex_init(&ex->exit_lock, NULL);
  pthread_mutex_init(&ex->drain_lock, NULL);
  park_init(&ex->lot);
  timer_heap_init(&ex->timers);
  event_init(&ex->join_event);
  atomic_init(&ex->state, EXEC_RUNNING);

  ex->handle = calloc(1, sizeof *ex->handle);
  /* The executor's reference, at once: executor_free() releases it on
     every failure path below. */
  if (ex->handle) {
    atomic_init(&ex->handle->ex, ex);
    atomic_init(&ex->handle->refs, 1);
  }
  ex->workers = aligned_alloc(SPOOL_CACHE_LINE, sizeof(worker) * plan.workers);
  ex->injectors = calloc(plan.nodes, sizeof(injector));
  if (!ex->handle || !ex->workers || !ex->injectors) {
    free(ex->workers);
    ex->workers = NULL;
    topology_plan_free(&plan);
    executor_free(ex);
    return SPOOL_ENOMEM;
  }
  ex->ninjectors = plan.nodes;
  for (unsigned i = 0; i < plan.nodes; i++)
    injector_init(&ex->injectors[i]);
  memset(ex->workers, 0, sizeof(worker) * plan.workers);
  for (unsigned i = 0; i < plan.workers; i++) {
    worker *w = &ex->workers[i];
    w->ex = ex;
    w->index = i;
    w->node = plan.node[i];
    w->bound = plan.cpus != NULL;
    if (w->bound) w->cpus = plan.cpus[i];
    w->rng = 0x9E3779B97F4A7C15ull * (i + 1);
    /* The deque's ring is allocated by the worker's own thread, after it
       is bound (worker_thread_main), so it lives on the worker's node. */
    ex->nworkers = i + 1;
  }
  /* The handler is process-wide and chains to the previous one, so it is
     installed once, by the first executor that asks for it. */
  if (c->catch_stack_overflow) overflow_install();
  /* Loop fibers, one per worker, do not count against max_fibers; the sum
     saturates (max_fibers may be UINT_MAX: no cap). */
  unsigned fiber_cap =
      c->max_fibers > UINT_MAX - ex->nworkers ? UINT_MAX : c->max_fibers + ex->nworkers;
  if (fiber_source_init(&ex->fibers, c->fiber_stack_size, fiber_cap) != 0) {
    topology_plan_free(&plan);
    executor_free(ex);
    return SPOOL_ENOMEM;
  }
  ex->fibers_ready = true;
  ex->spare_cpus = plan.spare_cpus;
  ex->cpu_node = plan.cpu_node;
  ex->cpu_node_len = plan.cpu_node_len;
  plan.cpu_node = NULL;
  ex->victims = plan.victims;
  memset(&plan.victims, 0, sizeof plan.victims);
  topology_plan_free(&plan);

  /* The trace file is opened now, so an unwritable path fails creation
     rather than losing the trace at destroy. */
  rc = trace_open(ex, c->trace_path);
  if (rc != SPOOL_OK) {
    executor_free(ex);
    return rc;
  }

  /* Start the workers with every asynchronous signal blocked, so signals go
     to the program's own threads (the mask is inherited). */
  sigset_t all, old;
  sigfillset(&all);
  sigdelset(&all, SIGSEGV);
  sigdelset(&all, SIGBUS);
  sigdelset(&all, SIGFPE);
  sigdelset(&all, SIGILL);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  unsigned started = 0;
  for (; started < ex->nworkers; started++) {
    if (pthread_create(&ex->workers[started].thread, NULL, worker_thread_main,
                       &ex->workers[started]) != 0)
      break;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);

  /* Wait for every started worker's initializer. */
  pthread_mutex_lock(&ex->start_lock);
  while (ex->started < started)
    pthread_cond_wait(&ex->start_cond, &ex->start_lock);
  bool failed = ex->init_failed || ex->start_nomem || started < ex->nworkers;
  if (failed) ex->start_abort = true;
  ex->start_released = true;
  pthread_cond_broadcast(&ex->start_cond);
  pthread_mutex_unlock(&ex->start_lock);

  if (failed) {
    for (unsigned i = 0; i < started; i++)
      pthread_join(ex->workers[i].thread, NULL);
    rc = started < ex->nworkers || ex->start_nomem ? SPOOL_ENOMEM : SPOOL_EBROKEN;
    executor_free(ex);
    return rc;
  }
  *out = ex;
  return SPOOL_OK;
}

/* ---- Shutdown and destroy ----------------------------------------------- */

/* One queue's oldest item, as a thief (internal.h). */
work_item *executor_take_queued(spool_executor *ex, unsigned i) {
  if (i >= ex->nworkers) return injector_take(&ex->injectors[i - ex->nworkers]);
  for (;;) {
    work_item *item = NULL;
    steal_status s = deque_steal(&ex->workers[i].dq, &item);
    if (s == STEAL_OK) return item;
    if (s == STEAL_EMPTY) return NULL;
  }
}

void executor_drain_begin(spool_executor *ex, drain *d) {
  d->cancelled = d->dropped = NULL;
  d->cancelled_tail = &d->cancelled;
  d->dropped_tail = &d->dropped;
  pthread_mutex_lock(&ex->drain_lock);
}

void drain_cancel_task(drain *d, spool_future *f) {
  if (future_cancel_claim(f)) {
    /* Ours now: the queue's reference comes along to drain_end. */
    f->item.next = NULL;
    *d->cancelled_tail = &f->item;
    d->cancelled_tail = &f->item.next;
  } else {
    spool_future_release(f); /* claimed or cancelled elsewhere */
  }
}

void drain_drop_detached(drain *d, work_item *item) {
  item->next = NULL;
  *d->dropped_tail = item;
  d->dropped_tail = &item->next;
}

worker *executor_drain_end(spool_executor *ex, drain *d, worker *caller) {
  pthread_mutex_unlock(&ex->drain_lock);
  for (work_item *item = d->cancelled; item;) {
    work_item *next = item->next;
    spool_future *f = container_of(item, spool_future, item);
    /* Its callbacks may migrate a caller that is a task (suspend.c). */
    caller = future_cancel_finish(f, caller);
    spool_future_release(f); /* the queue's reference */
    item = next;
  }
  for (work_item *item = d->dropped; item;) {
    work_item *next = item->next;
    detached_drop(ex, item, caller);
    item = next;
  }
  return caller;
}

/* Takes every queued item as a thief and cancels or drops the tasks among
   them; frames and continuations belong to running tasks and go back to
   the workers through an injection queue ("Drains"). */
static void executor_cancel_queued(spool_executor *ex, worker *caller) {
  drain d;
  executor_drain_begin(ex, &d);
  work_item *keep = NULL;
  for (unsigned i = 0; i < ex->nworkers + ex->ninjectors; i++) {
    work_item *item;
    while ((item = executor_take_queued(ex, i))) {
      switch (item->kind) {
      case WORK_TASK:
        drain_cancel_task(&d, container_of(item, spool_future, item));
        break;
      case WORK_DETACHED:
        drain_drop_detached(&d, item);
        break;
      default:
        item->next = keep;
        keep = item;
      }
    }
  }
  while (keep) {
    work_item *next = keep->next;
    injector_push(&ex->injectors[0], keep);
    keep = next;
  }
  park_notify_all(&ex->lot);
  executor_drain_end(ex, &d, caller);
}

static void executor_join_threads(spool_executor *ex) {
  pthread_mutex_lock(&ex->exit_lock);
  if (!ex->threads_joined) {
    for (unsigned i = 0; i < ex->nworkers; i++)
      pthread_join(ex->workers[i].thread, NULL);
    ex->threads_joined = true;
  }
  pthread_mutex_unlock(&ex->exit_lock);
}

int spool_shutdown(spool_executor *ex, bool wait, bool cancel_futures) {
  if (!ex) return SPOOL_EINVAL;
  worker *self = worker_of(ex, worker_self());
  if (wait && self) return SPOOL_ESTATE;
  /* seq_cst: see the file comment (shutdown versus submit). */
  store_seq_cst(&ex->state, EXEC_SHUTDOWN);
  if (cancel_futures) {
    executor_wait_submits(ex);
    executor_cancel_queued(ex, self);
  }
  /* Idle workers re-check whether they may exit; a joiner may be settled. */
  park_notify_all(&ex->lot);
  event_signal(&ex->join_event);
  if (wait) executor_join_threads(ex);
  return SPOOL_OK;
}

/* After the threads are joined: what is left in the queues are entries of
   tasks that were cancelled or run inline; release their references. */
static void executor_drain_skipped(spool_executor *ex) {
  for (unsigned i = 0; i < ex->nworkers + ex->ninjectors; i++) {
    for (;;) {
      work_item *item = NULL;
      if (i < ex->nworkers) {
        if (deque_steal(&ex->workers[i].dq, &item) == STEAL_EMPTY) break;
        if (!item) continue;
      } else if (!(item = injector_take(&ex->injectors[i - ex->nworkers]))) {
        break;
      }
      if (item->kind == WORK_TASK) {
        spool_future *f = container_of(item, spool_future, item);
        future_cancel_from(f, NULL); /* a no-op unless still pending */
        spool_future_release(f);
      } else if (item->kind == WORK_DETACHED) {
        detached_free(item, NULL);
      }
    }
  }
}

void spool_executor_destroy(spool_executor *ex) {
  if (!ex) return;
  worker *self = worker_self();
  if (self && self->ex == ex)
    spool_misuse("spool_executor_destroy() called from one of the executor's own tasks; "
                 "destroy it from the thread that created it");
  spool_shutdown(ex, true, false);
  executor_drain_skipped(ex);
  /* The workers are joined: their trace buffers are ours to read. */
  trace_write_and_close(ex);
  exec_handle *h = ex->handle;
  /* seq_cst: Dekker with handoff_begin() (store ex, then load handoffs). */
  store_seq_cst(&h->ex, NULL);
  /* seq_cst: the load of the Dekker pattern with handoff_begin()'s seq_cst
     increment (an acquire load is outside the single total order, and
     could miss an increment whose load of ex saw it non-NULL); as an
     acquire, it also pairs with the release decrement in handoff_end(). */
  while (load_seq_cst(&h->handoffs) != 0)
    sched_yield();
  executor_free(ex);
}
