/* Tracing: see trace.h. The file format is Chrome's trace-event JSON
 * object (traceEvents, loads in Perfetto and chrome://tracing): one track
 * per worker (tid: the worker's index, pid: the process), timestamps in
 * microseconds from the executor's creation. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void trace_record_slow(trace_buffer *t, uint32_t type, uint32_t arg) {
  if (t->len == t->cap) {
    t->dropped++;
    return;
  }
  t->events[t->len++] = (trace_event){clock_now_ns(), type, arg};
}

void trace_run_begin(worker *w, uint32_t kind) {
  if (__builtin_expect(w->trace == NULL, 1)) return;
  trace_record_slow(w->trace, TRACE_RUN_BEGIN, kind);
  w->current->trace_open++;
}

void trace_run_end(worker *w) {
  if (__builtin_expect(w->trace == NULL, 1)) return;
  trace_record_slow(w->trace, TRACE_RUN_END, 0);
  if (w->current->trace_open) w->current->trace_open--;
}

void trace_switch_out(worker *w, fiber *from) {
  if (__builtin_expect(w->trace == NULL, 1)) return;
  for (uint32_t i = 0; i < from->trace_open; i++)
    trace_record_slow(w->trace, TRACE_RUN_END, 0);
}

void trace_abandon(worker *w, fiber *from) {
  trace_switch_out(w, from);
  from->trace_open = 0; /* back to the pool: its slices are closed */
}

void trace_switch_in(worker *w, fiber *to) {
  if (__builtin_expect(w->trace == NULL, 1)) return;
  for (uint32_t i = 0; i < to->trace_open; i++)
    trace_record_slow(w->trace, TRACE_RUN_BEGIN, TRACE_CONTINUED);
}

/* ---- Files -------------------------------------------------------------- */

/* Paths used by this process's executors, so a second executor with the
   same path writes path.2 (the third path.3, ...) instead of overwriting.
   A creation that fails gives its claim back if no later one was made, so
   the next executor writes the path the user gave. */
typedef struct trace_path_use {
  struct trace_path_use *next;
  unsigned uses;
  char path[];
} trace_path_use;
static pthread_mutex_t trace_paths_lock = PTHREAD_MUTEX_INITIALIZER;
static trace_path_use *trace_paths; /* under trace_paths_lock; never freed */

static char *trace_claim_path(spool_executor *ex, const char *path) {
  pthread_mutex_lock(&trace_paths_lock);
  trace_path_use *u = trace_paths;
  while (u && strcmp(u->path, path) != 0)
    u = u->next;
  if (!u) {
    size_t len = strlen(path);
    u = malloc(sizeof *u + len + 1);
    if (!u) {
      pthread_mutex_unlock(&trace_paths_lock);
      return NULL;
    }
    memcpy(u->path, path, len + 1);
    u->uses = 0;
    u->next = trace_paths;
    trace_paths = u;
  }
  unsigned n = ++u->uses;
  pthread_mutex_unlock(&trace_paths_lock);
  ex->trace_path_use = u;
  ex->trace_path_claim = n;
  size_t size = strlen(path) + 16;
  char *name = malloc(size);
  if (!name) return NULL;
  if (n == 1)
    snprintf(name, size, "%s", path);
  else
    snprintf(name, size, "%s.%u", path, n);
  return name;
}

/* Gives back a failed creation's claim on its path, if it is the latest. */
static void trace_unclaim_path(spool_executor *ex) {
  trace_path_use *u = ex->trace_path_use;
  if (!u) return;
  pthread_mutex_lock(&trace_paths_lock);
  if (u->uses == ex->trace_path_claim) u->uses--;
  pthread_mutex_unlock(&trace_paths_lock);
  ex->trace_path_use = NULL;
}

int trace_open(spool_executor *ex, const char *path) {
  ex->trace_file = NULL;
  ex->trace_name = NULL;
  ex->trace_path_use = NULL;
  if (!path) return SPOOL_OK;
  if (!*path) return SPOOL_EINVAL;
  ex->trace_name = trace_claim_path(ex, path);
  if (!ex->trace_name) {
    trace_unclaim_path(ex);
    return SPOOL_ENOMEM;
  }
  ex->trace_file = fopen(ex->trace_name, "w");
  if (!ex->trace_file) {
    free(ex->trace_name);
    ex->trace_name = NULL;
    trace_unclaim_path(ex);
    return SPOOL_EINVAL; /* documented: the path cannot be written */
  }
  ex->trace_epoch_ns = clock_now_ns();
  return SPOOL_OK;
}

int trace_worker_start(worker *w) {
  if (!w->ex->trace_file) return 0;
  /* Allocated here, on the worker's thread: first touched on its node. */
  trace_buffer *t = malloc(sizeof *t);
  trace_event *ev = malloc(sizeof *ev * TRACE_EVENTS_PER_WORKER);
  if (!t || !ev) {
    free(t);
    free(ev);
    return -1;
  }
  *t = (trace_buffer){ev, 0, TRACE_EVENTS_PER_WORKER, 0};
  w->trace = t;
  return 0;
}

/* A string in JSON's quotes. */
static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static void trace_free_buffers(spool_executor *ex) {
  for (unsigned i = 0; i < ex->nworkers; i++) {
    trace_buffer *t = ex->workers[i].trace;
    if (!t) continue;
    free(t->events);
    free(t);
    ex->workers[i].trace = NULL;
  }
}

void trace_discard(spool_executor *ex) {
  trace_free_buffers(ex);
  if (ex->trace_file) {
    fclose(ex->trace_file);
    remove(ex->trace_name);
    trace_unclaim_path(ex);
  }
  free(ex->trace_name);
  ex->trace_file = NULL;
  ex->trace_name = NULL;
}

static const char *trace_kind_name(uint32_t kind) {
  switch (kind) {
  case WORK_TASK:
    return "task";
  case WORK_DETACHED:
    return "task (fire-and-forget)";
  case WORK_FRAME:
    return "stolen fork frame";
  case WORK_RESUME:
    return "resume";
  case TRACE_CONTINUED:
    return "continued";
  default:
    return "work";
  }
}

void trace_write_and_close(spool_executor *ex) {
  FILE *f = ex->trace_file;
  if (!f) return;
  long pid = (long)getpid();
  uint64_t dropped = 0;
  fprintf(f, "{\"traceEvents\":[\n");
  bool first = true;
  for (unsigned i = 0; i < ex->nworkers; i++) {
    char name[64];
    snprintf(name, sizeof name, "%s worker %u", ex->name_prefix, i);
    fprintf(f,
            "%s{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%ld,\"tid\":%u,\"args\":{\"name\":",
            first ? "" : ",\n", pid, i);
    json_string(f, name);
    fprintf(f, "}}");
    first = false;
    trace_buffer *t = ex->workers[i].trace;
    if (!t) continue;
    dropped += t->dropped;
    unsigned depth = 0;
    int64_t last = 0;
    for (uint32_t k = 0; k < t->len; k++) {
      const trace_event *e = &t->events[k];
      double us = (double)(e->ns - ex->trace_epoch_ns) / 1000.0;
      last = e->ns;
      switch (e->type) {
      case TRACE_RUN_BEGIN:
        depth++;
        fprintf(f,
                ",\n{\"name\":\"%s\",\"cat\":\"run\",\"ph\":\"B\",\"ts\":%.3f,\"pid\":%ld,"
                "\"tid\":%u}",
                trace_kind_name(e->arg), us, pid, i);
        break;
      case TRACE_RUN_END:
        if (depth == 0) break; /* its begin was dropped: never, as drops are at the end */
        depth--;
        fprintf(f, ",\n{\"ph\":\"E\",\"ts\":%.3f,\"pid\":%ld,\"tid\":%u}", us, pid, i);
        break;
      case TRACE_SLEEP_BEGIN:
        depth++;
        fprintf(f,
                ",\n{\"name\":\"sleep\",\"cat\":\"idle\",\"ph\":\"B\",\"ts\":%.3f,\"pid\":%ld,"
                "\"tid\":%u}",
                us, pid, i);
        break;
      case TRACE_SLEEP_END:
        if (depth == 0) break;
        depth--;
        fprintf(f, ",\n{\"ph\":\"E\",\"ts\":%.3f,\"pid\":%ld,\"tid\":%u}", us, pid, i);
        break;
      case TRACE_STEAL:
        fprintf(f,
                ",\n{\"name\":\"steal\",\"cat\":\"steal\",\"ph\":\"i\",\"s\":\"t\",\"ts\":%.3f,"
                "\"pid\":%ld,\"tid\":%u,\"args\":{\"victim\":%u}}",
                us, pid, i, e->arg);
        break;
      case TRACE_SUSPEND:
      case TRACE_RESUME:
        fprintf(f,
                ",\n{\"name\":\"%s\",\"cat\":\"fiber\",\"ph\":\"i\",\"s\":\"t\",\"ts\":%.3f,"
                "\"pid\":%ld,\"tid\":%u}",
                e->type == TRACE_SUSPEND ? "suspend" : "resume", us, pid, i);
        break;
      default:
        break;
      }
    }
    /* Slices left open by dropped events end with the last one kept. */
    double us = (double)(last - ex->trace_epoch_ns) / 1000.0;
    for (; depth > 0; depth--)
      fprintf(f, ",\n{\"ph\":\"E\",\"ts\":%.3f,\"pid\":%ld,\"tid\":%u}", us, pid, i);
  }
  fprintf(f,
          "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"spool_version\":\"%d.%d.%d\","
          "\"spool_workers\":%u,\"spool_dropped_events\":%llu,"
          "\"spool_epoch_monotonic_ns\":%lld}}\n",
          SPOOL_VERSION_MAJOR, SPOOL_VERSION_MINOR, SPOOL_VERSION_PATCH, ex->nworkers,
          (unsigned long long)dropped, (long long)ex->trace_epoch_ns);
  fclose(f);
  ex->trace_file = NULL;
  free(ex->trace_name);
  ex->trace_name = NULL;
  trace_free_buffers(ex);
}
