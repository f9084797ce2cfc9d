/* Known deviations from DESIGN.md that the fuzzers tolerate (or whose
 * operations they leave out) because the fix is filed and being made
 * elsewhere. Each macro names its issue; set it to 0 when the fix has
 * merged, and the fuzzers hold the library to the contract again.
 *
 * All fixed: issue 10's configuration limits and SPOOL_BIND case, issue 9
 * defects 1 (a done callback that suspends) and 9 (fork/sync NULL). */
#ifndef SPOOL_FUZZ_KNOWN_H
#define SPOOL_FUZZ_KNOWN_H

#define KNOWN_ISSUE10_WORKERS_ABOVE_4096 0
#define KNOWN_ISSUE10_BIND_EITHER_CASE   0
#define KNOWN_ISSUE9_DEFECT1             0
#define KNOWN_ISSUE9_DEFECT9             0

#endif /* SPOOL_FUZZ_KNOWN_H */
