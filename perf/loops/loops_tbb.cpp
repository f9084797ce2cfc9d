// The loop kernels with oneTBB parallel_for (its default auto_partitioner)
// over blocked ranges: elements for stream, rows otherwise (loops.h).
#include "loops.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

extern "C" int stream_compute_tbb(void *state) {
  stream_state *s = static_cast<stream_state *>(state);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, s->n), [s](const tbb::blocked_range<size_t> &r) {
    stream_range(s, r.begin(), r.end());
  });
  return 0;
}

extern "C" int stencil_compute_tbb(void *state) {
  stencil_state *s = static_cast<stencil_state *>(state);
  for (size_t t = 0; t < s->sweeps; t++) {
    const double *src = s->grid[t % 2];
    double *dst = s->grid[(t + 1) % 2];
    tbb::parallel_for(tbb::blocked_range<size_t>(1, s->n - 1),
                      [s, src, dst](const tbb::blocked_range<size_t> &r) {
                        stencil_rows(s, src, dst, r.begin(), r.end());
                      });
  }
  return 0;
}

extern "C" int mandel_compute_tbb(void *state) {
  mandel_state *s = static_cast<mandel_state *>(state);
  tbb::parallel_for(
      tbb::blocked_range<size_t>(0, s->height),
      [s](const tbb::blocked_range<size_t> &r) { mandel_rows(s, r.begin(), r.end()); });
  return 0;
}
