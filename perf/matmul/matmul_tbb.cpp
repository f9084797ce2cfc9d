// matmul with oneTBB task_group: four quadrant products in parallel, twice.
#include "matmul.h"

#include <tbb/task_group.h>

static void matmul_tbb(double *c, const double *a, const double *b, size_t n, size_t ld) {
  if (n <= MATMUL_LEAF) {
    matmul_leaf(c, a, b, ld);
    return;
  }
  size_t h = n / 2, down = h * ld;
  tbb::task_group group;
  group.run([=] { matmul_tbb(c, a, b, h, ld); });
  group.run([=] { matmul_tbb(c + h, a, b + h, h, ld); });
  group.run([=] { matmul_tbb(c + down, a + down, b, h, ld); });
  matmul_tbb(c + down + h, a + down, b + h, h, ld);
  group.wait();
  group.run([=] { matmul_tbb(c, a + h, b + down, h, ld); });
  group.run([=] { matmul_tbb(c + h, a + h, b + down + h, h, ld); });
  group.run([=] { matmul_tbb(c + down, a + down + h, b + down, h, ld); });
  matmul_tbb(c + down + h, a + down + h, b + down + h, h, ld);
  group.wait();
}

extern "C" int matmul_compute_tbb(void *state) {
  matmul_state *s = static_cast<matmul_state *>(state);
  matmul_tbb(s->c, s->a, s->b, s->n, s->ld);
  return 0;
}
