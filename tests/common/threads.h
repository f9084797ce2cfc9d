/* Looking at and steering the process's own threads through /proc and the
 * scheduler (Linux), so a test can check that a situation really arose
 * (a thread is asleep) and can make one more likely (a worker slow to wake).
 * These create situations; the tests then check them by state. */
#ifndef SPOOL_TEST_THREADS_H
#define SPOOL_TEST_THREADS_H

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline long thread_self_tid(void) {
  return (long)syscall(SYS_gettid);
}

/* The scheduler state letter of thread `tid` of this process (R, S, D...),
   or '?'. S: asleep (a futex wait, for our threads). */
static inline char thread_state(long tid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
  FILE *f = fopen(path, "r");
  if (!f) return '?';
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *close = strrchr(buf, ')'); /* the name may contain anything */
  return close && close[1] == ' ' ? close[2] : '?';
}

/* The tid of this process's thread named exactly `name`, or -1. */
static inline long thread_named(const char *name) {
  DIR *d = opendir("/proc/self/task");
  if (!d) return -1;
  long found = -1;
  struct dirent *e;
  while (found < 0 && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[300], comm[64] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = '\0';
    fclose(f);
    if (!strcmp(comm, name)) found = atol(e->d_name);
  }
  closedir(d);
  return found;
}

/* A busy thread pinned to one CPU, and a thread of ours moved under
   SCHED_IDLE onto that CPU: it runs only in the gaps the busy thread
   leaves, so it is slow to wake (milliseconds instead of microseconds). */
typedef struct thread_slowdown {
  pthread_t hog;
  atomic_int stop;
  bool active;
} thread_slowdown;

static inline void *thread_slowdown_hog(void *arg) {
  thread_slowdown *s = arg;
  while (!atomic_load_explicit(&s->stop, memory_order_relaxed))
    ;
  return NULL;
}

/* Returns false (and changes nothing lasting) if the system refuses. */
static inline bool thread_slowdown_start(thread_slowdown *s, long tid) {
  s->active = false;
  atomic_init(&s->stop, 0);
  cpu_set_t allowed, one;
  if (tid <= 0 || sched_getaffinity(0, sizeof allowed, &allowed) != 0) return false;
  int cpu = 0;
  while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &allowed))
    cpu++;
  if (cpu == CPU_SETSIZE) return false;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  struct sched_param sp = {0};
  if (sched_setaffinity((pid_t)tid, sizeof one, &one) != 0) return false;
  if (sched_setscheduler((pid_t)tid, SCHED_IDLE, &sp) != 0) return false;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setaffinity_np(&attr, sizeof one, &one);
  s->active = pthread_create(&s->hog, &attr, thread_slowdown_hog, s) == 0;
  pthread_attr_destroy(&attr);
  return s->active;
}

static inline void thread_slowdown_stop(thread_slowdown *s) {
  if (!s->active) return;
  atomic_store(&s->stop, 1);
  pthread_join(s->hog, NULL);
  s->active = false;
}

#endif /* SPOOL_TEST_THREADS_H */
