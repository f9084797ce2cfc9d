/* matmul with spool: four quadrant products in parallel, twice. */
#include "impl_spool.h"
#include "matmul.h"

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
