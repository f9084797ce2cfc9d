/* The loop kernels with OpenMP `parallel for`, static and dynamic schedules
   (loops.h): blocks of STREAM_BLOCK elements for stream, rows otherwise;
   the dynamic schedule hands out one block or row at a time. */
#include "loops.h"

static size_t stream_blocks(const stream_state *s) {
  return (s->n + STREAM_BLOCK - 1) / STREAM_BLOCK;
}

static void stream_block(stream_state *s, size_t k) {
  size_t lo = k * STREAM_BLOCK, hi = lo + STREAM_BLOCK < s->n ? lo + STREAM_BLOCK : s->n;
  stream_range(s, lo, hi);
}

int stream_compute_omp_static(void *state) {
  stream_state *s = state;
  long blocks = (long)stream_blocks(s);
#pragma omp parallel for schedule(static)
  for (long k = 0; k < blocks; k++)
    stream_block(s, (size_t)k);
  return 0;
}

int stream_compute_omp_dynamic(void *state) {
  stream_state *s = state;
  long blocks = (long)stream_blocks(s);
#pragma omp parallel for schedule(dynamic)
  for (long k = 0; k < blocks; k++)
    stream_block(s, (size_t)k);
  return 0;
}

int stencil_compute_omp_static(void *state) {
  stencil_state *s = state;
  long n = (long)s->n;
#pragma omp parallel
  for (size_t t = 0; t < s->sweeps; t++) {
    const double *src = s->grid[t % 2];
    double *dst = s->grid[(t + 1) % 2];
#pragma omp for schedule(static)
    for (long i = 1; i < n - 1; i++)
      stencil_rows(s, src, dst, (size_t)i, (size_t)i + 1);
  }
  return 0;
}

int stencil_compute_omp_dynamic(void *state) {
  stencil_state *s = state;
  long n = (long)s->n;
#pragma omp parallel
  for (size_t t = 0; t < s->sweeps; t++) {
    const double *src = s->grid[t % 2];
    double *dst = s->grid[(t + 1) % 2];
#pragma omp for schedule(dynamic)
    for (long i = 1; i < n - 1; i++)
      stencil_rows(s, src, dst, (size_t)i, (size_t)i + 1);
  }
  return 0;
}

int mandel_compute_omp_static(void *state) {
  mandel_state *s = state;
  long h = (long)s->height;
#pragma omp parallel for schedule(static)
  for (long y = 0; y < h; y++)
    mandel_rows(s, (size_t)y, (size_t)y + 1);
  return 0;
}

int mandel_compute_omp_dynamic(void *state) {
  mandel_state *s = state;
  long h = (long)s->height;
#pragma omp parallel for schedule(dynamic)
  for (long y = 0; y < h; y++)
    mandel_rows(s, (size_t)y, (size_t)y + 1);
  return 0;
}
