/* quicksort: typed fork-join (SPOOL_FORKABLE_VOID) sorting 10^7 integers.
 *
 *   quicksort [N]     sorts N pseudo-random ints (default 10,000,000),
 *                     checks the result, exits 0 when it is sorted and a
 *                     permutation of the input (by sum and xor), else 1
 *
 * The recursion forks one half and sorts the other itself, then syncs:
 *
 *     spool_frame(quicksort) f;
 *     SPOOL_FORK(&f, quicksort, a, left);   // may be stolen by another worker
 *     quicksort(a + right, n - right);      // this worker goes on
 *     SPOOL_SYNC(&f, quicksort);            // if nobody stole it: a direct call
 *
 * SPOOL_FORKABLE_VOID(quicksort, int *, size_t) generates the frame type
 * and the inline fork and sync for that signature: the arguments are
 * type-checked, and a frame no thief took costs about a plain call. Below
 * SERIAL_BELOW elements the recursion stays serial: forking a few dozen
 * comparisons' worth of work costs more than it can gain. */
#include <spool.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { SERIAL_BELOW = 4096 };

void quicksort(int *a, size_t n);
SPOOL_FORKABLE_VOID(quicksort, int *, size_t);

static void swap(int *x, int *y) {
  int t = *x;
  *x = *y;
  *y = t;
}

static void insertion_sort(int *a, size_t n) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && a[j - 1] > a[j]; j--)
      swap(&a[j - 1], &a[j]);
}

/* Hoare's partition around the median of three: afterwards every element
   of a[0, *left) is <= every element of a[*right, n), and the elements in
   between equal the pivot. */
static void partition(int *a, size_t n, size_t *left, size_t *right) {
  size_t mid = n / 2;
  if (a[mid] < a[0]) swap(&a[mid], &a[0]);
  if (a[n - 1] < a[0]) swap(&a[n - 1], &a[0]);
  if (a[n - 1] < a[mid]) swap(&a[n - 1], &a[mid]);
  int pivot = a[mid];
  size_t i = 0, j = n - 1;
  for (;;) {
    while (a[i] < pivot)
      i++;
    while (a[j] > pivot)
      j--;
    if (i >= j) break;
    swap(&a[i], &a[j]);
    i++;
    j--;
  }
  *left = j + 1;  /* a[0..j] <= pivot */
  *right = j + 1; /* a[j+1..n) >= pivot */
}

static void quicksort_serial(int *a, size_t n) {
  while (n > 16) {
    size_t left, right;
    partition(a, n, &left, &right);
    /* Recurse into the smaller side, loop on the larger: O(log n) stack. */
    if (left < n - right) {
      quicksort_serial(a, left);
      a += right;
      n -= right;
    } else {
      quicksort_serial(a + right, n - right);
      n = left;
    }
  }
  insertion_sort(a, n);
}

void quicksort(int *a, size_t n) {
  if (n < SERIAL_BELOW) {
    quicksort_serial(a, n);
    return;
  }
  size_t left, right;
  partition(a, n, &left, &right);
  spool_frame(quicksort) f;
  SPOOL_FORK(&f, quicksort, a, left);
  quicksort(a + right, n - right);
  SPOOL_SYNC(&f, quicksort);
}

typedef struct sort_job {
  int *a;
  size_t n;
} sort_job;

/* The root task, run by spool_run() from main(). */
static int sort_task(void *arg, void **result) {
  (void)result;
  sort_job *job = arg;
  quicksort(job->a, job->n);
  return 0;
}

int main(int argc, char **argv) {
  size_t n = 10 * 1000 * 1000;
  if (argc > 1) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || errno || v == 0 || v > SIZE_MAX / sizeof(int)) {
      fprintf(stderr, "usage: %s [N]\n", argv[0]);
      return 2;
    }
    n = (size_t)v;
  }
  int *a = malloc(n * sizeof *a);
  if (!a) {
    fprintf(stderr, "out of memory\n");
    return 2;
  }
  uint64_t x = 88172645463325252u, sum = 0, xor = 0; /* xorshift64 */
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    a[i] = (int)(x % 2000000001u) - 1000000000;
    sum += (uint64_t)(int64_t)a[i];
    xor ^= (uint64_t)(uint32_t)a[i];
  }

  spool_executor *ex;
  int rc = spool_executor_create(&ex, NULL);
  if (rc == SPOOL_OK) rc = spool_run(ex, sort_task, &(sort_job){a, n}, NULL);
  unsigned workers = spool_executor_workers(ex);
  spool_executor_destroy(ex);
  if (rc != SPOOL_OK) {
    fprintf(stderr, "spool: %s\n", spool_strerror(rc));
    free(a);
    return 2;
  }

  bool sorted = true;
  uint64_t sum_after = 0, xor_after = 0;
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && a[i - 1] > a[i]) sorted = false;
    sum_after += (uint64_t)(int64_t)a[i];
    xor_after ^= (uint64_t)(uint32_t)a[i];
  }
  free(a);
  bool same = sum_after == sum && xor_after == xor;
  printf("sorted %zu integers with %u workers: %s\n", n, workers,
         sorted && same ? "sorted, same elements"
         : !sorted      ? "NOT SORTED"
                        : "ELEMENTS CHANGED");
  return sorted && same ? 0 : 1;
}
