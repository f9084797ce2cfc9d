/* Calls that reach the library's spool_fork and spool_sync, counted at its
 * door: a program linked with -Wl,--wrap=spool_fork,--wrap=spool_sync
 * (tests/forkjoin/meson.build) includes this once; every call of the
 * library's functions, from spool.h's inline path or directly, goes
 * through a counter on its way there. */
#ifndef SPOOL_TEST_LIBRARY_CALLS_H
#define SPOOL_TEST_LIBRARY_CALLS_H

#include <spool.h>
#include <stdatomic.h>
#include <stdint.h>

void __real_spool_fork(spool_task *t, spool_fn fn, void *arg);
int __real_spool_sync(spool_task *t, void **result);
void __wrap_spool_fork(spool_task *t, spool_fn fn, void *arg);
int __wrap_spool_sync(spool_task *t, void **result);

static _Atomic uint64_t library_forks, library_syncs;

void __wrap_spool_fork(spool_task *t, spool_fn fn, void *arg) {
  atomic_fetch_add(&library_forks, 1);
  __real_spool_fork(t, fn, arg);
}

int __wrap_spool_sync(spool_task *t, void **result) {
  atomic_fetch_add(&library_syncs, 1);
  return __real_spool_sync(t, result);
}

/* Starts a count. */
static inline void library_calls_reset(void) {
  atomic_store(&library_forks, 0);
  atomic_store(&library_syncs, 0);
}

#endif /* SPOOL_TEST_LIBRARY_CALLS_H */
