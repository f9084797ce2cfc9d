/* matmul with OpenMP tasks: four quadrant products in parallel, twice. */
#include "matmul.h"

static void matmul_omp(double *c, const double *a, const double *b, size_t n, size_t ld) {
  if (n <= MATMUL_LEAF) {
    matmul_leaf(c, a, b, ld);
    return;
  }
  size_t h = n / 2, down = h * ld;
#pragma omp task
  matmul_omp(c, a, b, h, ld);
#pragma omp task
  matmul_omp(c + h, a, b + h, h, ld);
#pragma omp task
  matmul_omp(c + down, a + down, b, h, ld);
  matmul_omp(c + down + h, a + down, b + h, h, ld);
#pragma omp taskwait
#pragma omp task
  matmul_omp(c, a + h, b + down, h, ld);
#pragma omp task
  matmul_omp(c + h, a + h, b + down + h, h, ld);
#pragma omp task
  matmul_omp(c + down, a + down + h, b + down, h, ld);
  matmul_omp(c + down + h, a + down + h, b + down + h, h, ld);
#pragma omp taskwait
}

int matmul_compute_omp(void *state) {
  matmul_state *s = state;
#pragma omp parallel
#pragma omp single
  matmul_omp(s->c, s->a, s->b, s->n, s->ld);
  return 0;
}
