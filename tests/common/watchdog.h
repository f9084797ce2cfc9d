/* A watchdog for the tests: a hang (a deadlock, a lost wake-up) fails
 * loudly with a message naming what hung, instead of hanging CI until its
 * own timeout.
 *
 *   watchdog_arm(seconds, what)   (re)starts the countdown
 *   watchdog_disarm()             stops it
 *   watchdog_stop()               ends its thread (at the end of a program)
 *
 * A helper thread sleeps until the deadline (no polling) and then prints
 * one line and aborts. The budget is multiplied under sanitizers and
 * valgrind, which slow everything down. Header-only: each test program
 * gets its own watchdog. */
#ifndef SPOOL_TEST_WATCHDOG_H
#define SPOOL_TEST_WATCHDOG_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sanitizers.h"

typedef struct watchdog_state {
  pthread_once_t once;
  pthread_mutex_t lock;
  pthread_cond_t cond; /* on CLOCK_MONOTONIC */
  bool armed;          /* under lock */
  bool quit;           /* under lock: the thread exits */
  bool started;        /* the thread exists (set once, under `once`) */
  pthread_t thread;
  struct timespec deadline;
  double seconds;
  char what[160];
} watchdog_state;

static watchdog_state watchdog_g = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

static inline void *watchdog_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&watchdog_g.lock);
  for (;;) {
    if (watchdog_g.quit) break;
    if (!watchdog_g.armed) {
      pthread_cond_wait(&watchdog_g.cond, &watchdog_g.lock);
      continue;
    }
    int rc = pthread_cond_timedwait(&watchdog_g.cond, &watchdog_g.lock, &watchdog_g.deadline);
    if (rc != ETIMEDOUT || !watchdog_g.armed) continue;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec < watchdog_g.deadline.tv_sec ||
        (now.tv_sec == watchdog_g.deadline.tv_sec && now.tv_nsec < watchdog_g.deadline.tv_nsec))
      continue; /* re-armed meanwhile */
    fprintf(stderr,
            "watchdog: \"%s\" did not finish within %.0f s: a hang (deadlock or lost wake-up)\n",
            watchdog_g.what, watchdog_g.seconds);
    fflush(stderr);
    abort();
  }
  pthread_mutex_unlock(&watchdog_g.lock);
  return NULL;
}

static inline void watchdog_start_thread(void) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&watchdog_g.cond, &attr);
  pthread_condattr_destroy(&attr);
  if (pthread_create(&watchdog_g.thread, NULL, watchdog_main, NULL) != 0) {
    fprintf(stderr, "watchdog: cannot start its thread\n");
    abort();
  }
  watchdog_g.started = true;
}

/* Slow-down factor of the build and run: sanitizers, valgrind, emulators. */
static inline double watchdog_slowdown(void) {
  if (test_under_valgrind() || test_under_emulator()) return 20.0;
#if defined(TEST_TSAN)
  return 8.0;
#elif defined(TEST_ASAN)
  return 3.0;
#else
  return 1.0;
#endif
}

/* Starts (or restarts) the countdown: `what` must finish within `seconds`
   (times the slow-down factor). */
static inline void watchdog_arm(double seconds, const char *what) {
  pthread_once(&watchdog_g.once, watchdog_start_thread);
  seconds *= watchdog_slowdown();
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  pthread_mutex_lock(&watchdog_g.lock);
  watchdog_g.seconds = seconds;
  snprintf(watchdog_g.what, sizeof watchdog_g.what, "%s", what ? what : "test");
  long long ns = now.tv_nsec + (long long)((seconds - (double)(long long)seconds) * 1e9);
  watchdog_g.deadline.tv_sec = now.tv_sec + (time_t)seconds + (time_t)(ns / 1000000000);
  watchdog_g.deadline.tv_nsec = (long)(ns % 1000000000);
  watchdog_g.armed = true;
  pthread_cond_signal(&watchdog_g.cond);
  pthread_mutex_unlock(&watchdog_g.lock);
}

static inline void watchdog_disarm(void) {
  pthread_once(&watchdog_g.once, watchdog_start_thread);
  pthread_mutex_lock(&watchdog_g.lock);
  watchdog_g.armed = false;
  pthread_cond_signal(&watchdog_g.cond);
  pthread_mutex_unlock(&watchdog_g.lock);
}

/* Ends the watchdog's thread (so leak checkers see nothing left behind). */
static inline void watchdog_stop(void) {
  pthread_once(&watchdog_g.once, watchdog_start_thread);
  pthread_mutex_lock(&watchdog_g.lock);
  watchdog_g.quit = true;
  pthread_cond_signal(&watchdog_g.cond);
  pthread_mutex_unlock(&watchdog_g.lock);
  if (watchdog_g.started) pthread_join(watchdog_g.thread, NULL);
  watchdog_g.started = false;
}

#endif /* SPOOL_TEST_WATCHDOG_H */
