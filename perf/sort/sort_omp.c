/* sort with OpenMP tasks: the quarters sorted in parallel, then the merges. */
#include "sort.h"

static void merge_omp(const int32_t *a, size_t na, const int32_t *b, size_t nb, int32_t *out) {
  if (na < nb) {
    const int32_t *t = a;
    a = b;
    b = t;
    size_t tn = na;
    na = nb;
    nb = tn;
  }
  if (na + nb <= MERGE_LEAF || nb == 0) {
    merge_leaf(a, na, b, nb, out);
    return;
  }
  size_t ma = na / 2, mb = sort_lower_bound(b, nb, a[ma]);
#pragma omp task
  merge_omp(a, ma, b, mb, out);
  merge_omp(a + ma, na - ma, b + mb, nb - mb, out + ma + mb);
#pragma omp taskwait
}

static void sort_omp(int32_t *a, int32_t *tmp, size_t n) {
  if (n < SORT_LEAF) {
    sort_leaf(a, n);
    return;
  }
  size_t q = n / 4;
#pragma omp task
  sort_omp(a, tmp, q);
#pragma omp task
  sort_omp(a + q, tmp + q, q);
#pragma omp task
  sort_omp(a + 2 * q, tmp + 2 * q, q);
  sort_omp(a + 3 * q, tmp + 3 * q, n - 3 * q);
#pragma omp taskwait
#pragma omp task
  merge_omp(a, q, a + q, q, tmp);
  merge_omp(a + 2 * q, q, a + 3 * q, n - 3 * q, tmp + 2 * q);
#pragma omp taskwait
  merge_omp(tmp, 2 * q, tmp + 2 * q, n - 2 * q, a);
}

int sort_compute_omp(void *state) {
  sort_state *s = state;
#pragma omp parallel
#pragma omp single
  sort_omp(s->data, s->tmp, s->n);
  return 0;
}
