/* sort: a parallel merge sort of 32-bit integers in the manner of Cilk's
 * cilksort: sort the four quarters in parallel, merge them pairwise into the
 * scratch array in parallel, merge the halves back. A merge splits the
 * longer run at its middle, finds the split point of the other by binary
 * search, and merges both parts in parallel. The kernel's definition has
 * cutoffs: runs below SORT_LEAF are sorted serially (quicksort, insertion
 * sort below 20), merges below MERGE_LEAF merged serially; every
 * implementation shares those serial leaves (sort.c). */
#ifndef PERF_SORT_H
#define PERF_SORT_H

#include <stdint.h>

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SORT_LEAF  2048 /* cilksort's QUICKSIZE */
#define MERGE_LEAF 2048 /* cilksort's MERGESIZE */

typedef struct sort_state {
  size_t n;
  int32_t *input;    /* the unsorted numbers, kept */
  int32_t *data;     /* sorted in place by compute */
  int32_t *tmp;      /* scratch of the same size */
  uint64_t sum, mix; /* checksums of the multiset */
} sort_state;

/* The serial leaves. */
void sort_leaf(int32_t *a, size_t n);
void merge_leaf(const int32_t *a, size_t na, const int32_t *b, size_t nb, int32_t *out);
/* The first index i of b[0..nb) with b[i] >= key. */
size_t sort_lower_bound(const int32_t *b, size_t nb, int32_t key);

extern const bench_problem sort_problem;

int sort_compute_serial(void *state);
int sort_compute_spool(void *state);
int sort_compute_omp(void *state);
int sort_compute_tbb(void *state);

#ifdef __cplusplus
}
#endif

#endif /* PERF_SORT_H */
