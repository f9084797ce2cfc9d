/* Tracing (SPOOL_TRACE=path, spool_config.trace_path): per-worker event
 * buffers in memory, written as one Chrome trace-event JSON file when the
 * executor is destroyed.
 *
 * Each worker records only on its own thread into its own buffer (no
 * synchronisation); the buffers are read by the destroying thread after
 * the workers are joined (pthread_join orders the two). A full buffer
 * drops further events and counts them; the count is written in the file.
 *
 * Slices nest per worker. A run slice opens when a worker starts an item
 * and closes when the item returns; a fiber that switches away with slices
 * open on it closes them on the worker it leaves (trace_switch_out) and
 * reopens them as "continued" on the worker that resumes it
 * (trace_switch_in), so every worker's stream is properly nested even
 * though a task may suspend on one worker and finish on another.
 *
 * Off, every event site costs one predictable branch (w->trace is NULL). */
#ifndef SPOOL_TRACE_H
#define SPOOL_TRACE_H

#include <stdint.h>
#include <stdio.h>

struct worker;
struct fiber;
struct spool_executor;

enum trace_type {
  TRACE_RUN_BEGIN, /* arg: the item's kind (work.h), or TRACE_CONTINUED */
  TRACE_RUN_END,
  TRACE_STEAL,       /* arg: the victim's index */
  TRACE_SUSPEND,     /* a task parked on its fiber */
  TRACE_RESUME,      /* a parked task resumed on this worker */
  TRACE_SLEEP_BEGIN, /* the worker sleeps for lack of work */
  TRACE_SLEEP_END,   /* ... and is woken */
};
#define TRACE_CONTINUED 0xffu

typedef struct trace_event {
  int64_t ns;
  uint32_t type, arg;
} trace_event;

typedef struct trace_buffer {
  trace_event *events;
  uint32_t len, cap;
  uint64_t dropped;
} trace_buffer;

/* Events a worker keeps before it drops (16 bytes each). */
#define TRACE_EVENTS_PER_WORKER (1u << 18)

void trace_record_slow(trace_buffer *t, uint32_t type, uint32_t arg);

#define TRACE(w, type, arg)                                                                        \
  do {                                                                                             \
    if (__builtin_expect((w)->trace != NULL, 0)) trace_record_slow((w)->trace, (type), (arg));     \
  } while (0)

/* Run slices; they count per fiber how many are open on it. */
void trace_run_begin(struct worker *w, uint32_t kind);
void trace_run_end(struct worker *w);
/* Around every switch that leaves a fiber which will run again. */
void trace_switch_out(struct worker *w, struct fiber *from);
void trace_switch_in(struct worker *w, struct fiber *to);
/* Before a switch that leaves a fiber for good (it returns to the pool). */
void trace_abandon(struct worker *w, struct fiber *from);

/* Executor side: open the file at create (NULL path: off), each worker
   allocates its buffer on its own thread, destroy writes and frees. */
int trace_open(struct spool_executor *ex, const char *path);
int trace_worker_start(struct worker *w);
void trace_write_and_close(struct spool_executor *ex);
void trace_discard(struct spool_executor *ex);

#endif /* SPOOL_TRACE_H */
