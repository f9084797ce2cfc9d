/* The spool implementation's executor, shared by its kernels. */
#ifndef PERF_IMPL_SPOOL_H
#define PERF_IMPL_SPOOL_H

#include <spool.h>

/* Created by the harness with the requested number of workers. */
extern spool_executor *bench_spool;

/* Results travel through spool's void * as integers. */
static inline void *spool_int_result(long v) {
  return (void *)(intptr_t)v;
}
static inline long spool_result_int(void *p) {
  return (long)(intptr_t)p;
}

#endif /* PERF_IMPL_SPOOL_H */
