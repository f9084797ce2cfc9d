// sort with oneTBB task_group: the quarters sorted in parallel, then the
// merges.
#include "sort.h"

#include <tbb/task_group.h>
#include <utility>

static void merge_tbb(const int32_t *a, size_t na, const int32_t *b, size_t nb, int32_t *out) {
  if (na < nb) {
    std::swap(a, b);
    std::swap(na, nb);
  }
  if (na + nb <= MERGE_LEAF || nb == 0) {
    merge_leaf(a, na, b, nb, out);
    return;
  }
  size_t ma = na / 2, mb = sort_lower_bound(b, nb, a[ma]);
  tbb::task_group group;
  group.run([=] { merge_tbb(a, ma, b, mb, out); });
  merge_tbb(a + ma, na - ma, b + mb, nb - mb, out + ma + mb);
  group.wait();
}

static void sort_tbb(int32_t *a, int32_t *tmp, size_t n) {
  if (n < SORT_LEAF) {
    sort_leaf(a, n);
    return;
  }
  size_t q = n / 4;
  tbb::task_group group;
  group.run([=] { sort_tbb(a, tmp, q); });
  group.run([=] { sort_tbb(a + q, tmp + q, q); });
  group.run([=] { sort_tbb(a + 2 * q, tmp + 2 * q, q); });
  sort_tbb(a + 3 * q, tmp + 3 * q, n - 3 * q);
  group.wait();
  group.run([=] { merge_tbb(a, q, a + q, q, tmp); });
  merge_tbb(a + 2 * q, q, a + 3 * q, n - 3 * q, tmp + 2 * q);
  group.wait();
  merge_tbb(tmp, 2 * q, tmp + 2 * q, n - 2 * q, a);
}

extern "C" int sort_compute_tbb(void *state) {
  sort_state *s = static_cast<sort_state *>(state);
  sort_tbb(s->data, s->tmp, s->n);
  return 0;
}
