/* Allocation-failure injection: the control side.
 *
 * The faults build of the library (tests/faults/meson.build) is a copy of
 * libspool.a whose references to malloc, calloc, realloc, free,
 * aligned_alloc, posix_memalign, mmap, munmap, mprotect, pthread_create,
 * pthread_join, pthread_detach and the allocating hwloc calls are renamed
 * (objcopy --redefine-sym) to the spool_fault_* functions of inject.c. So
 * only the library's own calls are counted and failed: the test program's,
 * libc's and hwloc's internal ones are not.
 *
 * Environment (read once, at the first counted call):
 *   SPOOL_FAULT_AT=N         fail the Nth counted call (1-based); unset or 0:
 *                            fail nothing, only count
 *   SPOOL_FAULT_MODE=oneshot only the Nth call fails (the default)
 *   SPOOL_FAULT_MODE=persistent
 *                            every call from the Nth on fails
 *
 * Every call that succeeds is recorded (heap blocks, mappings, threads,
 * hwloc bitmaps and topologies) until the library releases it, so a run can
 * check that the library holds nothing once every executor is destroyed
 * and every future released. */
#ifndef SPOOL_TEST_FAULTS_INJECT_H
#define SPOOL_TEST_FAULTS_INJECT_H

#include <stdbool.h>
#include <stdint.h>

/* While `refuse` is true, every mmap the library makes fails (MAP_FAILED,
   errno ENOMEM), whatever SPOOL_FAULT_AT says: a program that runs out of
   mappings at the moment it chooses (tests/faults/unparked_overflow.c).
   Call it on the thread that then makes the library work, or before it
   starts work on other threads (the flag is relaxed). */
void fault_refuse_mappings(bool refuse);

/* Counted calls so far, and how many of them were failed. */
uint64_t fault_calls(void);
uint64_t fault_injected(void);

/* Prints one line per resource the library still holds to stderr
   ("fault-leak: ..."), naming the kind, the size and the library function
   that acquired it; returns how many there are. */
unsigned fault_report_leaks(void);

#endif /* SPOOL_TEST_FAULTS_INJECT_H */
