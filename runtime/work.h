/* Work items: what a deque slot or the injection queue holds.
 *
 * Every schedulable thing starts with this header, so the deques and the
 * injection queue move plain pointers and never allocate. The kinds:
 *
 *   WORK_TASK       a submitted task with a future (the header is embedded
 *                   in the spool_future; the queue holds one reference)
 *   WORK_DETACHED   a fire-and-forget task (no future; recycled through the
 *                   per-worker free lists)
 *   WORK_FRAME      a fork-join frame (lives in the forking task's spool_task)
 *   WORK_RESUME     a continuation: a suspended task's parked fiber
 *
 * A thief or the owner that takes an item calls work_item_run(); an item
 * whose task was already claimed elsewhere (cancelled, or run inline by a
 * waiter) is skipped there. Shutdown with cancel_futures drains queues as a
 * thief and cancels or drops TASK and DETACHED items; FRAME and RESUME items
 * belong to running tasks and are handed back to the workers. */
#ifndef SPOOL_WORK_H
#define SPOOL_WORK_H

#include <stdint.h>

struct worker;

typedef enum work_kind { WORK_TASK, WORK_DETACHED, WORK_FRAME, WORK_RESUME } work_kind;

typedef struct work_item work_item;
struct work_item {
  /* Runs (or skips) the item on worker `self`; consumes the queue's claim on
     the item. Returns the worker the caller is on afterwards: the item may
     suspend and resume on another thread (DESIGN.md "Migration"). Written
     once before the item is published, read by whoever takes it (the
     publishing release store orders it). */
  struct worker *(*run)(work_item *item, struct worker *self);
  uint8_t kind; /* work_kind */
  /* A frame's: a tag of the fiber that forked it (internal.h fiber_tag();
     checked by debug builds in forkjoin.c). */
  uint32_t owner_tag;
  /* Intrusive link for the injection queue and the free lists; unused
     while the item sits in a deque. */
  work_item *next;
};

#endif /* SPOOL_WORK_H */
