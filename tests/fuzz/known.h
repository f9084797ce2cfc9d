/* Known deviations from DESIGN.md that the fuzzers tolerate (or whose
 * operations they leave out) because the fix is filed and being made
 * elsewhere. Each line names its issue; delete the line when the fix has
 * merged, and the fuzzers hold the library to the contract again.
 *
 * KNOWN_ISSUE10_WORKERS_ABOVE_4096   SPOOL_WORKERS above 4096 is accepted
 *                                    (DESIGN: malformed)
 * KNOWN_ISSUE10_BIND_EITHER_CASE     SPOOL_BIND in upper case is rejected
 *                                    (DESIGN: accepted in either case)
 * KNOWN_ISSUE9_DEFECT1               a done callback that forks and syncs
 *                                    (and so may suspend) crashes: the
 *                                    api_sequence fuzzer does not add such
 *                                    callbacks
 * KNOWN_ISSUE9_DEFECT9               spool_fork(NULL, ...) and
 *                                    spool_sync(NULL, ...) crash: the NULL
 *                                    calls leave them out */
#ifndef SPOOL_FUZZ_KNOWN_H
#define SPOOL_FUZZ_KNOWN_H

#define KNOWN_ISSUE10_WORKERS_ABOVE_4096 1
#define KNOWN_ISSUE10_BIND_EITHER_CASE   1
#define KNOWN_ISSUE9_DEFECT1             1
#define KNOWN_ISSUE9_DEFECT9             1

#endif /* SPOOL_FUZZ_KNOWN_H */
