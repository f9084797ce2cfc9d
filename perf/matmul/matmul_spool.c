/* matmul with spool: four quadrant products in parallel, twice. */
#include "impl_spool.h"
#include "matmul.h"

/* Two versions: the typed fork-join of spool.h (SPOOL_FORK / SPOOL_SYNC,
   the "spool" column), and with PERF_SPOOL_FN the spool_fn version
   (spool_fork / spool_sync, the "spool-fn" column, perf_spool_fn). */
#ifdef PERF_SPOOL_FN

typedef struct product {
  double *c;
  const double *a, *b;
  size_t n, ld;
} product;

static int product_task(void *arg, void **result) {
  (void)result;
  const product *p = arg;
  if (p->n <= MATMUL_LEAF) {
    matmul_leaf(p->c, p->a, p->b, p->ld);
    return 0;
  }
  size_t h = p->n / 2, ld = p->ld, down = h * ld;
  double *c = p->c;
  const double *a = p->a, *b = p->b;
  product phases[2][4] = {
      {{c, a, b, h, ld},
       {c + h, a, b + h, h, ld},
       {c + down, a + down, b, h, ld},
       {c + down + h, a + down, b + h, h, ld}},
      {{c, a + h, b + down, h, ld},
       {c + h, a + h, b + down + h, h, ld},
       {c + down, a + down + h, b + down, h, ld},
       {c + down + h, a + down + h, b + down + h, h, ld}},
  };
  spool_task frames[3];
  int rc = 0;
  for (int phase = 0; phase < 2 && rc == 0; phase++) {
    for (int i = 0; i < 3; i++)
      spool_fork(&frames[i], product_task, &phases[phase][i]);
    rc = product_task(&phases[phase][3], NULL);
    for (int i = 2; i >= 0; i--) {
      int rc_child = spool_sync(&frames[i], NULL);
      if (rc_child && !rc) rc = rc_child;
    }
  }
  return rc;
}

int matmul_compute_spool(void *state) {
  matmul_state *s = state;
  product root = {s->c, s->a, s->b, s->n, s->ld};
  return spool_run(bench_spool, product_task, &root, NULL);
}

#else /* typed fork-join */

static void product(double *c, const double *a, const double *b, size_t n, size_t ld);
SPOOL_FORKABLE_VOID(product, double *, const double *, const double *, size_t, size_t);

/* c += a * b for n x n blocks of row stride ld: four quadrant products in
   parallel, twice. */
static void product(double *c, const double *a, const double *b, size_t n, size_t ld) {
  if (n <= MATMUL_LEAF) {
    matmul_leaf(c, a, b, ld);
    return;
  }
  size_t h = n / 2, down = h * ld;
  spool_frame(product) frames[3];
  SPOOL_FORK(&frames[0], product, c, a, b, h, ld);
  SPOOL_FORK(&frames[1], product, c + h, a, b + h, h, ld);
  SPOOL_FORK(&frames[2], product, c + down, a + down, b, h, ld);
  product(c + down + h, a + down, b + h, h, ld);
  for (int i = 2; i >= 0; i--)
    SPOOL_SYNC(&frames[i], product);
  SPOOL_FORK(&frames[0], product, c, a + h, b + down, h, ld);
  SPOOL_FORK(&frames[1], product, c + h, a + h, b + down + h, h, ld);
  SPOOL_FORK(&frames[2], product, c + down, a + down + h, b + down, h, ld);
  product(c + down + h, a + down + h, b + down + h, h, ld);
  for (int i = 2; i >= 0; i--)
    SPOOL_SYNC(&frames[i], product);
}

static int product_root(void *arg, void **result) {
  (void)result;
  matmul_state *s = arg;
  product(s->c, s->a, s->b, s->n, s->ld);
  return 0;
}

int matmul_compute_spool(void *state) {
  return spool_run(bench_spool, product_root, state, NULL);
}

#endif
