/* spool_fork / spool_sync / spool_run.
 *
 * A frame lives in the caller's spool_task (on its stack). spool_fork pushes
 * a pointer to it onto the current worker's deque; spool_sync pops it back
 * and calls the function directly when nobody took it.
 *
 * Frame protocol. The deque entry is the only licence to run the frame:
 * whoever takes it (the owner's pop, a thief's steal, or a worker popping
 * its own deque in its loop) runs it, and no one else ever does. The frame's
 * `state` goes PENDING -> DONE, written by the runner's exchange as its last
 * access to the frame; the syncer may first turn PENDING into a pointer to
 * its continuation (CAS) to ask the runner for a signal. A syncer that
 * takes back a frame no thief can see (the private list, or a published
 * entry it pops itself) runs it and may write PENDING -> SYNCED, which only
 * the syncing task reads, to catch a second sync: no runner exists for such
 * a frame, so no runner ever sees SYNCED. Invariants:
 *   - when spool_sync returns, no deque entry and no thread refers to the
 *     frame: either the syncer popped the entry itself, or the runner's
 *     exchange to DONE (seen by the syncer) was its last access;
 *   - a syncer that waits has stored its continuation, and the runner's
 *     exchange returns it and signals it (acq_rel exchange / CAS: exactly
 *     one of "the runner sees the continuation" and "the syncer sees DONE"
 *     holds). The syncer parks on it (suspend.c), or, at the fiber cap,
 *     waits nested until the signal, never until the state alone: the
 *     runner still signals the continuation after its exchange.
 * A syncer never claims a frame whose entry is still queued (DESIGN.md's
 * "claim by CAS and skip the entry" would leave a queued pointer into a
 * stack frame that is about to die); instead it parks, or at the cap runs
 * other work, which pops its own deque first, so a frame still in its own
 * deque is reached there. So spool_sync never fails at the cap. */
#include "internal.h"

/* Or a syncer's continuation (an address, above FRAME_DONE). SYNCED: the
   syncer took the frame back unseen by thieves and ran it itself; only the
   syncing task ever reads the mark, to catch a second sync. */
enum { FRAME_PENDING = 0, FRAME_SYNCED = 1, FRAME_DONE = 2 };

typedef struct fork_frame {
  work_item item;
  spool_fn fn;
  void *arg;
  void *result;
  _Atomic uintptr_t state;
  int error;
} fork_frame;

_Static_assert(sizeof(fork_frame) <= sizeof(spool_task), "a frame fits in spool_task");
_Static_assert(_Alignof(fork_frame) <= _Alignof(spool_task), "spool_task is aligned for a frame");
/* spool.h's inline fast path writes frames through spool__frame. */
#define SAME_OFFSET(a, b) _Static_assert(offsetof(fork_frame, a) == offsetof(spool__frame, b), #a)
SAME_OFFSET(item.run, run);
SAME_OFFSET(item.kind, kind);
SAME_OFFSET(item.owner_tag, tag);
SAME_OFFSET(fn, fn);
SAME_OFFSET(arg, arg);
SAME_OFFSET(state, state);
_Static_assert(sizeof(uintptr_t) == sizeof(_Atomic uintptr_t), "state is a plain word");
_Static_assert(WORK_FRAME == SPOOL__WORK_FRAME && FRAME_PENDING == SPOOL__FRAME_PENDING &&
                   FRAME_SYNCED == SPOOL__FRAME_SYNCED,
               "spool.h's constants");

static inline fork_frame *frame_of(spool_task *t) {
  return (fork_frame *)(void *)t;
}

static bool frame_done(void *arg);

#ifdef SPOOL_DEBUG_CHECKS
/* Sync order: the private list holds only frames of the task running on
   this fiber (the loop pops newer items first, and parking publishes), so a
   frame with this task's tag (its fiber's; for a group's task, its group's
   and a hash of the fiber) in front of fr was forked after it and not
   synced. */
static void frame_check_order(worker *self, fork_frame *fr) {
  /* the newest private item: this thread's list */
  const work_item *above = self->dq.lane.head;
  if (above && above != &fr->item && above->kind == WORK_FRAME &&
      above->owner_tag == self->dq.lane.tag && !frame_done(fr))
    spool_misuse("spool_sync() out of order: a frame forked after this one has not been synced; "
                 "sync frames in the reverse order of their forks");
}

static _Noreturn void frame_leaked(void) {
  spool_misuse("a task returned without calling spool_sync() on a frame it forked; every "
               "spool_fork() needs its spool_sync() before the function returns");
}

/* Whether p points into the part of the watched fiber's stack that the
   returned task used: memory that is dead now, whatever it held. */
static bool in_dead_frames(frame_watch fw, const void *p) {
  const char *c = p;
  return c >= fw.f->stack_lo && c < fw.caller_frame;
}

/* ---- The stolen-frame ledger ----
   A frame a thief took lies below top, and the ring cannot say which
   frames those were: a public pop leaves its slot's pointer behind, and a
   later index that shares the slot (index + capacity) overwrites a stolen
   one's. So thieves note each frame they take, with its index, in the
   victim's ledger (internal.h), and a sync of a frame that was not taken
   from the private region removes it. What remains with an index the task
   pushed, pointing into its dead stack, is a frame it never synced.

   Invariant: an entry (i, item) with item not NULL was stolen at index i
   and not yet synced on this worker. It holds because the thief writes the
   entry before it runs the frame, and a sync returns only after the frame
   is done (the runner's release exchange of state, the syncer's acquire
   load), so the sync's removal comes after the entry. A collision (two
   stolen indices a multiple of STOLEN_LEDGER apart) overwrites the older
   entry: the check may then miss a leak, never report a false one. A sync
   on another worker (the task moved) leaves its entry here, with an index
   below top, and every task that starts later on this worker starts with
   bottom >= top, above it. */

static void ledger_lock(stolen_ledger *l) {
  /* acquire: pairs with the release store in ledger_unlock(), so this
     holder sees every entry the previous holder wrote. */
  while (atomic_exchange_explicit(&l->lock, 1, memory_order_acquire))
    cpu_relax();
}
static void ledger_unlock(stolen_ledger *l) {
  /* release: pairs with the acquire exchange in ledger_lock(). */
  atomic_store_explicit(&l->lock, 0, memory_order_release);
}

void frame_note_stolen(worker *victim, const work_item *item, int64_t index) {
  stolen_ledger *l = &victim->stolen;
  ledger_lock(l);
  l->at[index % STOLEN_LEDGER].index = index;
  l->at[index % STOLEN_LEDGER].item = item;
  ledger_unlock(l);
}

/* After a sync of a frame that a thief may have taken. */
static void ledger_forget(worker *self, const work_item *item) {
  stolen_ledger *l = &self->stolen;
  ledger_lock(l);
  for (int k = 0; k < STOLEN_LEDGER; k++)
    if (l->at[k].item == item) l->at[k].item = NULL;
  ledger_unlock(l);
}

/* What the task pushed is still queued unless it was synced: a fork's
   sync takes its frame from the private list, or the owner or a thief took
   it from the public region. The private items in front of fw.head were
   pushed while the task ran (the list only grows at its front, and
   publication takes items from its back), and so were the public ones at
   indices from fw.split up, which publication gave them in order. So an
   item there that points into the dead part of the stack is a frame the
   task forked and never synced; nothing else pushed lives on a task's
   stack but a parked task's continuation, and while the worker has not
   parked (fw.parks) this task has queued none. Such an item is recognised
   by its address and never read through: the dead frames were overwritten
   by this very call. Below top, the ledger says what thieves took. (An
   owner's pop of public items below fw.split while the task ran lets later
   publications reuse those indices: the check may then miss a leak, never
   report a false one.) */
void frame_watch_end(frame_watch fw, worker *self) {
  if (self != fw.w || self->current != fw.f) return; /* moved: cannot tell */
  /* A thread's own stack (no spool stack; tasks never run there): its
     bounds are not known, and heap items would look like frames. */
  if (!fw.f->guard_size) return;
  deque *d = &self->dq;
  /* acquire: pairs with the thieves' CAS of top; an item below top is no
     longer queued. */
  int64_t top = load_acquire(&d->top);
  /* First what thieves took: a frame stolen while the task ran, and still
     (or soon) run by the thief, which will write its result into the dead
     frame. Only if no continuation can be among them (a nested task could
     have pushed, and a thief taken, frames at indices above fw.split). */
  if (worker_parks(self) == fw.parks) {
    stolen_ledger *l = &self->stolen;
    ledger_lock(l);
    for (int k = 0; k < STOLEN_LEDGER; k++)
      if (l->at[k].item && l->at[k].index >= fw.split && in_dead_frames(fw, l->at[k].item))
        frame_leaked();
    ledger_unlock(l);
  }
  /* Then the public region, which thieves take from: a frame a fork
     published (answering a thief's request) is found here before a thief
     can run it, unless one takes it meanwhile (then the ledger would have
     shown it had the check looked a moment later; the gap left). */
  int64_t pub_from = fw.split > top ? fw.split : top;
  for (int64_t i = pub_from; i < d->owner_split; i++)
    /* relaxed: only the pointer's value is used */
    if (in_dead_frames(fw, load_relaxed(&d->owner_buffer->slots[i & d->owner_buffer->mask])))
      frame_leaked();
  /* Then the private list in front of fw.head, which only this thread
     touches. By address first: reading a dead frame's kind read memory
     this call had just overwritten, and under AddressSanitizer often
     enough (1 run in 50) for the check to miss and the worker to run the
     frame. An item elsewhere is alive (a queued task, or a frame in static
     or heap memory) and is read: a frame with the task's tag was leaked
     too. If fw.head is no longer on the list (published meanwhile), the
     walk ends at the list's end. */
  const work_item *it = d->lane.head;
  for (; it && it != fw.head; it = it->next)
    if (in_dead_frames(fw, it)) frame_leaked();
  /* By tag only when fw.head is still there (or the list was empty): if
     the task's nested work popped it, the items behind it are older than
     the task, and its own caller's frames carry the same tag. */
  if (it != fw.head) return;
  for (it = d->lane.head; it != fw.head; it = it->next)
    if (it->kind == WORK_FRAME && it->owner_tag == fw.tag) frame_leaked();
}
#endif

static void frame_call(fork_frame *fr) {
  void *result = NULL;
  int error = fr->fn(fr->arg, &result);
  fr->error = error; /* unchanged, runtime codes included (DESIGN.md) */
  fr->result = error ? NULL : result;
}

/* Run by whoever took the frame's entry from a deque. */
worker *forkjoin_frame_run(work_item *item, worker *self) {
  fork_frame *fr = container_of(item, fork_frame, item);
  /* The frame runs as part of the task that forked it, in that task's
     group, whichever worker took it (its tag names the group). */
  spool_group *outer = group_scope_enter(self, group_of_tag(item->owner_tag));
  frame_watch fw = frame_watch_begin(self);
  frame_call(fr);
  self = worker_self(); /* the function may have moved to another worker */
  frame_watch_end(fw, self);
  group_scope_leave(self, outer);
  /* acq_rel: release publishes result/error to the syncer's acquire load;
     this is the runner's last access to the frame (file comment). */
  uintptr_t old = atomic_exchange_explicit(&fr->state, FRAME_DONE, memory_order_acq_rel);
  if (old > FRAME_DONE) continuation_signal((continuation *)old, self);
  return self;
}

/* Runs fr at once (outside a worker). */
static __attribute__((noinline)) void fork_run_now(fork_frame *fr) {
  frame_call(fr);
  atomic_init(&fr->state, FRAME_DONE);
}

/* A thief asked for work while we forked. */
static __attribute__((noinline)) void fork_publish(worker *self) {
  worker_publish(self);
}

spool__run_fn forkjoin_frame_runner(void) {
  return (spool__run_fn)forkjoin_frame_run;
}

/* The out-of-line fork; spool.h's spool__fork_inline() is its fast path,
   inline in the caller, and calls it for everything else. Every slow case
   below is a tail call, so the fast path saves no registers and builds no
   stack frame (checked with objdump). */
/* A fork given no function: its sync reports SPOOL_EINVAL (spool.h). */
static __attribute__((noinline)) void fork_invalid(fork_frame *fr) {
  fr->error = SPOOL_EINVAL;
  fr->result = NULL;
  atomic_init(&fr->state, FRAME_DONE);
}

void spool_fork(spool_task *t, spool_fn fn, void *arg) {
  if (__builtin_expect(!t, 0)) return; /* nothing to fork into: nothing to sync */
  fork_frame *fr = frame_of(t);
  if (__builtin_expect(!fn, 0)) {
    fork_invalid(fr);
    return;
  }
  fr->fn = fn;
  fr->arg = arg;
  worker *self = runtime_tls_worker; /* no switch point before its use */
  if (__builtin_expect(!self, 0)) {
    fork_run_now(fr);
    return;
  }
  /* Everything a thief reads is written before the release store of split
     that publishes the frame (deque.c, I3). */
  atomic_init(&fr->state, FRAME_PENDING);
  fr->item.run = forkjoin_frame_run;
  fr->item.kind = WORK_FRAME;
  deque *d = &self->dq;
  fr->item.owner_tag = d->lane.tag;
  /* relaxed: read by spool_stats_read() on other threads. */
  __atomic_store_n(&d->lane.forks, d->lane.forks + 1, __ATOMIC_RELAXED);
  deque_push_private(d, &fr->item);
  if (__builtin_expect(deque_publish_requested(d), 0)) fork_publish(self);
}

static bool frame_done(void *arg) {
  /* acquire: pairs with the exchange in forkjoin_frame_run(). */
  return load_acquire(&((fork_frame *)arg)->state) == FRAME_DONE;
}

/* The frame was taken, or lies under other items, or this task moved to
   another worker since the fork: park the task until the frame's runner
   signals it (suspend.c), or, with no fiber to continue on, run other work
   until the frame is done. */
static void sync_slow(worker *self, fork_frame *fr) {
  fiber *next = suspend_prepare(self);
  if (next) {
    continuation c;
    continuation_init(&c, self->ex, 1);
    uintptr_t expected = FRAME_PENDING;
    /* acq_rel: pairs with the exchange in forkjoin_frame_run(): either the runner
       sees &c and signals it, or we see DONE and need not park. */
    if (atomic_compare_exchange_strong_explicit(&fr->state, &expected, (uintptr_t)&c,
                                                memory_order_acq_rel, memory_order_acquire)) {
      suspend_park(self, &c, next);
    } else {
      suspend_unprepare(self, next);
    }
    return;
  }
  /* At the cap: a nested wait, which the runner signals as it would a
     parked syncer's continuation. The wait ends on that signal, not on the
     state: the runner still touches the continuation after its exchange. */
  nested_wait nw;
  nested_wait_init(&nw, self->ex, 1);
  uintptr_t expected = FRAME_PENDING;
  /* acq_rel: pairs with the exchange in forkjoin_frame_run(), as above. */
  if (atomic_compare_exchange_strong_explicit(&fr->state, &expected, (uintptr_t)&nw.c,
                                              memory_order_acq_rel, memory_order_acquire))
    nested_wait_run(self, &nw);
}

/* Everything but the fast path: the frame is done already (forked outside
   a worker, or run by a thief), published, stolen, or this task moved. */
static __attribute__((noinline)) int sync_not_private(fork_frame *fr, worker *self, void **result) {
  /* relaxed: pairs with nothing across threads. The mark is the relaxed
     store of this task's earlier sync (below, or spool.h's inline take),
     made on this thread or before a migration whose park and resume order
     it before this load. */
  if (atomic_load_explicit(&fr->state, memory_order_relaxed) == FRAME_SYNCED)
    spool_misuse("spool_sync() called twice on one frame; sync each fork once (fork the frame "
                 "again to reuse it)");
  if (!frame_done(fr)) {
#ifdef SPOOL_DEBUG_CHECKS
    if (self) frame_check_order(self, fr);
#endif
    if (self && deque_peek_bottom(&self->dq) == &fr->item && deque_pop(&self->dq) == &fr->item) {
      /* Published but not taken: call it directly. relaxed: no thief can
         reach it any more (a thief that lost the pop never dereferences
         it); read only by the check above in a later sync. */
      frame_call(fr);
      atomic_store_explicit(&fr->state, FRAME_SYNCED, memory_order_relaxed);
    } else if (self) {
      sync_slow(self, fr);
    }
  }
#ifdef SPOOL_DEBUG_CHECKS
  /* Also when the frame was done on entry (a thief ran it). On the worker
     the task is on now: if it moved since the fork, the entry is in
     another worker's ledger, and stays there harmlessly (the ledger). */
  worker *now = self ? worker_self() : NULL;
  if (now) ledger_forget(now, &fr->item);
#endif
  if (result) *result = fr->error ? NULL : fr->result;
  return fr->error;
}

int spool_sync(spool_task *t, void **result) {
  if (__builtin_expect(!t, 0)) {
    if (result) *result = NULL;
    return SPOOL_EINVAL;
  }
  fork_frame *fr = frame_of(t);
  worker *self = runtime_tls_worker; /* no switch point before its use */
  if (__builtin_expect(!self || !deque_take_private_bottom(&self->dq, &fr->item), 0))
    return sync_not_private(fr, self, result);
  /* The fast path: our own newest private item, unseen by thieves. Marked
     in every build (one store on a path already out of line; spool.h's
     inline take marks only where the caller is built without NDEBUG).
     relaxed: never published; read only by sync_not_private()'s check in
     a later sync of this frame. */
  atomic_store_explicit(&fr->state, FRAME_SYNCED, memory_order_relaxed);
  void *r = NULL;
  int error = fr->fn(fr->arg, &r);
  if (__builtin_expect(error != 0, 0)) r = NULL; /* the code passes unchanged */
  if (result) *result = r;
  return error;
}

int spool_run(spool_executor *ex, spool_fn fn, void *arg, void **result) {
  if (result) *result = NULL;
  if (!ex || !fn) return SPOOL_EINVAL;
  worker *self = worker_self();
  if (self && self->ex == ex) {
    void *r = NULL;
    int error = fn(arg, &r); /* unchanged, runtime codes included */
    if (result) *result = error ? NULL : r;
    return error;
  }
  spool_future *f;
  int rc = spool_submit(ex, fn, arg, &f);
  if (rc != SPOOL_OK) return rc;
  rc = spool_future_result(f, SPOOL_FOREVER, result);
  spool_future_release(f);
  return rc;
}
