/* Task groups: membership, a scoped join, cancel.
 *
 * Membership. A group's task carries the group: a queued task in its item
 * (spool_future.group, detached_task.group), a running task in its fiber
 * (fiber.group, installed by group_scope_enter() around the task's
 * function), and a frame it forked in the frame's tag: the tag the fork
 * already writes (spool.h, spool__lane.tag) is the group's while a group's
 * task runs, so a thief, or a worker popping a parked task's frame, finds
 * the group with group_of_tag() and runs the frame in it. Forking costs
 * nothing more; spool_submit() reads the running fiber's group. A task
 * migrates with its fiber, so with its group.
 *
 * Counting (the word `state`). A member is counted (+1) before it is
 * published, and uncounted (-1) exactly once, after it has returned and its
 * done callbacks have run, or when it is cancelled or dropped, by whichever
 * thread did that: join.c's rules R1 and R2 for one group. A member's
 * children are counted before the member finishes (they are submitted
 * while it runs), so the count reaches 0 only when every member counted so
 * far, and everything they spawned in the group, has finished. One word
 * holds the count and the flags, so a submit is one atomic RMW that also
 * sees a cancel (GROUP_CANCELLED), and a joiner's announcement
 * (GROUP_JOINERS) and its look at the count are one RMW too: every RMW of
 * the word is totally ordered, so either the joiner sees the count 0, or
 * the finish that brings it to 0 comes later and sees GROUP_JOINERS.
 *
 * Waking joiners. The finish that takes the count from 1 to 0 while
 * GROUP_JOINERS is set wakes them: it signals the event `joined` (threads
 * that block) and completes the created future `zero` (tasks that yield on
 * it). Invariant: a joiner waits only after an RMW that saw a positive
 * count and set GROUP_JOINERS; the flag is cleared only while the count is
 * 0 (by a join returning), so the first finish to reach 0 after that RMW
 * sees it and wakes the joiner. A joiner registers before its RMW (the
 * event's prepare, the retained `zero`), and the finisher's acq_rel RMW
 * reads the joiner's (or a later) value, so the registration happens
 * before the wake. Wake-ups may be spurious: joiners re-check.
 *
 * Lifetime. spool_group_destroy() waits until the count is 0, so no member
 * still runs: the finish's RMW of `state` is a member's last access to the
 * group, except for the wake just described, which may run after the
 * group was destroyed. So groups live in type-stable slots (the registry
 * below): a slot's memory is never freed, and its event, lock and `zero`
 * stay valid objects across reuse; a late wake is a spurious one for the
 * slot's next group. A member's done callbacks run before its finish, so
 * the group is alive for them; a continuation of a member is an
 * unfinished member. A member's future outlives the group, but the runtime
 * reads future.group only while the task is unfinished (after winning its
 * claim, or while it sits unclaimed in a queue, where the comparison in
 * the cancel's drain reads the pointer, never the group).
 *
 * Cancel. GROUP_CANCELLED refuses every later submit (the RMW that counts
 * it sees the flag and undoes itself). Members already queued are found by
 * a drain of every queue, as a thief (like spool_shutdown(cancel_futures));
 * other items go back through the injection queues. A member the drain
 * misses (a submit racing with the cancel) is cancelled when a worker
 * takes it (group_member_cancelled(), checked after the claim). */
#include "internal.h"
#include "wait.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* More members at once than this is SPOOL_ENOMEM (far below GROUP_COUNT,
   so racing submits can never carry into the flags). */
#define GROUP_MEMBERS_MAX (1u << 29)

/* ---- Registry: type-stable slots ----------------------------------------- */

/* 2^20 slots at most (the tag's 20 slot bits), made a chunk at a time and
   never freed; chunks are reachable from here, so leak checkers are quiet. */
#define GROUP_CHUNK_SLOTS 256u
#define GROUP_CHUNKS      4096u
_Static_assert((uint64_t)GROUP_CHUNK_SLOTS *GROUP_CHUNKS <= (GROUP_TAG_BIT >> GROUP_TAG_SLOT_SHIFT),
               "a slot index fits in a tag");

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
/* Written once each (release) under registry_lock; read by group_of_tag()
   on any thread. */
static _Atomic(spool_group *) registry_chunks[GROUP_CHUNKS];
static unsigned registry_nchunks;  /* under registry_lock */
static spool_group *registry_free; /* under registry_lock */

static void registry_grow(void) {
  spool_group *chunk = aligned_alloc(SPOOL_CACHE_LINE, sizeof(spool_group) * GROUP_CHUNK_SLOTS);
  if (!chunk) return;
  memset(chunk, 0, sizeof(spool_group) * GROUP_CHUNK_SLOTS);
  for (unsigned i = GROUP_CHUNK_SLOTS; i-- > 0;) {
    spool_group *g = &chunk[i];
    uint32_t slot = registry_nchunks * GROUP_CHUNK_SLOTS + i;
    g->tag = GROUP_TAG_BIT | (slot << GROUP_TAG_SLOT_SHIFT);
    atomic_init(&g->state, 0);
    atomic_init(&g->first_error, 0);
    event_init(&g->joined);
    pthread_mutex_init(&g->lock, NULL);
    g->next_free = registry_free;
    registry_free = g;
  }
  /* release: pairs with the acquire load in group_of_tag(). */
  store_release(&registry_chunks[registry_nchunks], chunk);
  registry_nchunks++;
}

static spool_group *registry_take(void) {
  pthread_mutex_lock(&registry_lock);
  if (!registry_free && registry_nchunks < GROUP_CHUNKS) registry_grow();
  spool_group *g = registry_free;
  if (g) registry_free = g->next_free;
  pthread_mutex_unlock(&registry_lock);
  return g;
}

static void registry_put(spool_group *g) {
  pthread_mutex_lock(&registry_lock);
  g->next_free = registry_free;
  registry_free = g;
  pthread_mutex_unlock(&registry_lock);
}

void group_registry_release(void) {
  pthread_mutex_lock(&registry_lock);
  unsigned free_slots = 0;
  for (spool_group *g = registry_free; g; g = g->next_free)
    free_slots++;
  if (free_slots == registry_nchunks * GROUP_CHUNK_SLOTS) {
    for (unsigned c = 0; c < registry_nchunks; c++) {
      /* relaxed: no executor exists, so no thread reads the registry */
      spool_group *chunk = load_relaxed(&registry_chunks[c]);
      for (unsigned i = 0; i < GROUP_CHUNK_SLOTS; i++)
        pthread_mutex_destroy(&chunk[i].lock);
      free(chunk);
      store_relaxed(&registry_chunks[c], NULL);
    }
    registry_nchunks = 0;
    registry_free = NULL;
  }
  pthread_mutex_unlock(&registry_lock);
}

spool_group *group_of_tag(uint32_t tag) {
  if (!(tag & GROUP_TAG_BIT)) return NULL;
  uint32_t slot = (tag & ~GROUP_TAG_BIT) >> GROUP_TAG_SLOT_SHIFT;
  /* acquire: pairs with the release store in registry_grow() (the frame
     was forked by a member, after its group was created). */
  spool_group *chunk = load_acquire(&registry_chunks[slot / GROUP_CHUNK_SLOTS]);
  return &chunk[slot % GROUP_CHUNK_SLOTS];
}

/* ---- Counting members ------------------------------------------------------ */

static uint32_t group_count(spool_group *g) {
  /* acquire: pairs with the acq_rel decrements in group_member_finished()
     (through the release sequence of later RMWs): a joiner that reads 0
     sees everything the members did. */
  return load_acquire(&g->state) & GROUP_COUNT;
}

int group_member_enter(spool_group *g) {
  /* relaxed: the count needs only the atomicity of the RMW (the member's
     own work is published by its finish, a child's count is sequenced
     before its parent's finish on the same word), and the cancel flag is
     in the same word, so a submit after the cancel's RMW sees it. */
  uint32_t old = fetch_add_relaxed(&g->state, 1);
  if (!(old & GROUP_CANCELLED) && (old & GROUP_COUNT) < GROUP_MEMBERS_MAX) return SPOOL_OK;
  group_member_finished(g); /* withdraw: this may be the last "member" */
  return (old & GROUP_CANCELLED) ? SPOOL_ECANCELLED : SPOOL_ENOMEM;
}

void group_record_error(spool_group *g, int error) {
  int none = 0;
  /* acq_rel: pairs with the exchange in spool_group_join(); happens before
     the member's finish, so a join that sees the count 0 sees it. */
  cas_acq_rel(&g->first_error, &none, error);
}

/* Completes and drops the group's `zero` future, if it has one (its
   cooperative joiners wait on it). Touches only the type-stable parts of
   the slot. */
static void group_complete_zero(spool_group *g) {
  pthread_mutex_lock(&g->lock);
  spool_future *zero = g->zero;
  g->zero = NULL;
  pthread_mutex_unlock(&g->lock);
  if (zero) {
    spool_future_set_result(zero, NULL);
    spool_future_release(zero); /* the group's reference */
  }
}

/* May run after the group was destroyed (file comment). */
static void group_wake_joiners(spool_group *g) {
  event_signal(&g->joined);
  group_complete_zero(g);
}

void group_member_finished(spool_group *g) {
  /* acq_rel: the release publishes the member's work to the joiner that
     reads the count 0; the acquire reads a joiner's fetch_or of
     GROUP_JOINERS (or a later RMW), so the joiner's registration happens
     before the wake below (file comment). */
  uint32_t old = fetch_sub_acq_rel(&g->state, 1);
  if ((old & (GROUP_JOINERS | GROUP_COUNT)) == (GROUP_JOINERS | 1)) group_wake_joiners(g);
}

/* A joiner announces itself and reads the count in one RMW. */
static uint32_t group_announce_joiner(spool_group *g) {
  /* acq_rel: the release orders the joiner's registration before the
     finisher that reads this value; the acquire, as in group_count(). */
  uint32_t v = atomic_fetch_or_explicit(&g->state, GROUP_JOINERS, memory_order_acq_rel);
  return v & GROUP_COUNT;
}

/* After a join that saw the count 0: joiners still waiting set the flag
   again themselves (file comment), so it may go while the count is 0. */
static void group_clear_joiners(spool_group *g) {
  uint32_t v = load_relaxed(&g->state);
  /* relaxed: only saves later finishers a wake; correctness does not
     depend on it. */
  while ((v & GROUP_COUNT) == 0 && (v & GROUP_JOINERS) &&
         !atomic_compare_exchange_weak_explicit(&g->state, &v, v & ~GROUP_JOINERS,
                                                memory_order_relaxed, memory_order_relaxed)) {
  }
}

/* ---- Waiting --------------------------------------------------------------- */

static int group_wait_blocking(spool_group *g, int64_t deadline) {
  for (;;) {
    uint32_t seen = event_prepare(&g->joined);
    if (group_announce_joiner(g) == 0) {
      event_cancel(&g->joined);
      return SPOOL_OK;
    }
    if (!event_wait(&g->joined, seen, deadline))
      return group_count(g) == 0 ? SPOOL_OK : SPOOL_ETIMEDOUT;
  }
}

/* Inside a task: yield on the group's `zero` future (a cooperative wait
   with the deadline: coop_wait.c), so the worker runs other work (the
   members included) meanwhile, whatever the timeout. */
static int group_wait_in_task(spool_group *g, int64_t deadline) {
  for (;;) {
    pthread_mutex_lock(&g->lock);
    spool_future *zero = g->zero;
    if (!zero && spool_future_create(&zero) == SPOOL_OK) g->zero = zero;
    if (zero) spool_future_retain(zero); /* ours, for the yield */
    pthread_mutex_unlock(&g->lock);
    if (!zero) { /* out of memory: block the thread instead */
      worker_before_block(worker_self());
      return group_wait_blocking(g, deadline);
    }
    uint32_t count = group_announce_joiner(g);
    int rc = SPOOL_OK;
    if (count != 0)
      rc = yield_wait_internal(worker_self(), &zero, 1, deadline, SPOOL_ALL_COMPLETED, NULL);
    spool_future_release(zero);
    if (count == 0) return SPOOL_OK;
    if (rc == SPOOL_ETIMEDOUT) return group_count(g) == 0 ? SPOOL_OK : SPOOL_ETIMEDOUT;
    if (rc != SPOOL_OK) { /* out of memory for the wait: block the thread */
      worker_before_block(worker_self());
      return group_wait_blocking(g, deadline);
    }
    /* Completed: the count reached 0 since, or a wake was spurious. */
  }
}

/* Waits until the count is 0: inside a task cooperatively (the worker is
   freed, with any timeout), elsewhere by blocking the thread. */
static int group_wait(spool_group *g, worker *self, double timeout) {
  if (timeout == 0) return group_count(g) == 0 ? SPOOL_OK : SPOOL_ETIMEDOUT;
  int64_t deadline = timeout < 0 ? DEADLINE_NONE : deadline_after(timeout);
  if (self) return group_wait_in_task(g, deadline);
  return group_wait_blocking(g, deadline);
}

/* ---- Cancel: the drain ------------------------------------------------------ */

static bool item_is_member(work_item *item, spool_group *g) {
  if (item->kind == WORK_TASK) return container_of(item, spool_future, item)->group == g;
  if (item->kind == WORK_DETACHED) return detached_group(item) == g;
  return false;
}

/* Takes every queued item as a thief; cancels or drops g's members; puts
   the rest back through the injection queue of the node it came from (in
   the order taken, oldest first), after the sweep so none is taken twice;
   all of it inside a drain (executor.c, "Drains"). */
static void group_cancel_queued(spool_group *g) {
  spool_executor *ex = g->ex;
  worker *caller = worker_of(ex, worker_self());
  work_item **heads = calloc(ex->ninjectors, 2 * sizeof *heads);
  work_item *one[2] = {NULL, NULL};
  if (!heads) heads = one; /* everything back through injector 0 */
  drain d;
  executor_drain_begin(ex, &d);
  for (unsigned i = 0; i < ex->nworkers + ex->ninjectors; i++) {
    unsigned node = i < ex->nworkers ? ex->workers[i].node : i - ex->nworkers;
    if (heads == one) node = 0;
    work_item **head = &heads[2 * node], **tail = &heads[2 * node + 1];
    work_item *item;
    while ((item = executor_take_queued(ex, i))) {
      if (item->kind == WORK_TASK) {
        spool_future *f = container_of(item, spool_future, item);
        if (f->group == g || future_state(f) != FUTURE_PENDING) {
          /* The claim fails unless still pending (then the entry is a
             leftover: its reference is released). */
          drain_cancel_task(&d, f);
          continue;
        }
      } else if (item_is_member(item, g)) {
        drain_drop_detached(&d, item);
        continue;
      }
      item->next = NULL;
      if (*tail)
        (*tail)->next = item;
      else
        *head = item;
      *tail = item;
    }
  }
  for (unsigned n = 0; n < (heads == one ? 1 : ex->ninjectors); n++) {
    for (work_item *item = heads[2 * n]; item;) {
      work_item *next = item->next;
      injector_push(&ex->injectors[n], item);
      item = next;
    }
  }
  if (heads != one) free(heads);
  park_notify_all(&ex->lot);
  executor_drain_end(ex, &d, caller);
}

/* ---- The API ------------------------------------------------------------------ */

int spool_group_create(spool_executor *ex, spool_group **out) {
  if (out) *out = NULL;
  if (!ex || !out) return SPOOL_EINVAL;
  spool_group *g = registry_take();
  if (!g) return SPOOL_ENOMEM;
  g->ex = ex;
  /* relaxed: no member exists yet; the caller publishes g to other
     threads by its own means. */
  store_relaxed(&g->state, 0);
  store_relaxed(&g->first_error, 0);
  *out = g;
  return SPOOL_OK;
}

int spool_group_submit(spool_group *g, spool_fn fn, void *arg, spool_future **out) {
  if (out) *out = NULL;
  if (!g) return SPOOL_EINVAL;
  return executor_submit(g->ex, g, fn, arg, out);
}

/* Whether the caller runs as one of g's tasks (or a frame of one). */
static bool running_in(spool_group *g, worker *self) {
  return self && self->current->group == g;
}

int spool_group_join(spool_group *g, double timeout) {
  if (!g || isnan(timeout)) return SPOOL_EINVAL;
  worker *self = worker_self();
  if (running_in(g, self)) return SPOOL_ESTATE;
  int rc = group_wait(g, self, timeout);
  if (rc != SPOOL_OK) return rc; /* a timed-out join leaves the error */
  group_clear_joiners(g);
  /* acq_rel: pairs with the CAS in group_record_error(). */
  return exchange_acq_rel(&g->first_error, 0);
}

int spool_group_cancel(spool_group *g) {
  if (!g) return SPOOL_EINVAL;
  /* acq_rel: an RMW of the word every submit RMWs (file comment); a
     submit ordered after it sees the flag. */
  uint32_t old = atomic_fetch_or_explicit(&g->state, GROUP_CANCELLED, memory_order_acq_rel);
  if (old & GROUP_COUNT) group_cancel_queued(g);
  return SPOOL_OK;
}

bool spool_group_cancelled(const spool_group *g) {
  /* acquire: pairs with the fetch_or in spool_group_cancel(). */
  return g && (load_acquire(&((spool_group *)g)->state) & GROUP_CANCELLED) != 0;
}

void spool_group_destroy(spool_group *g) {
  if (!g) return;
  /* A destroyed group's slot has no executor until a create reuses it, so
     a second destroy is caught until then (after it, it destroys the new
     group, as a double free would free someone else's block). */
  if (!g->ex)
    spool_misuse("spool_group_destroy() called on a group already destroyed; destroy each group "
                 "once");
  worker *self = worker_self();
  if (running_in(g, self))
    spool_misuse("spool_group_destroy() called from one of the group's own tasks; destroy a group "
                 "from outside it, after its work is done");
  group_wait(g, self, SPOOL_FOREVER);
  /* No member is left: a `zero` still here has no waiter. */
  group_complete_zero(g);
  g->ex = NULL;
  registry_put(g);
}
