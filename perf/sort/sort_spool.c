/* sort with spool: the quarters sorted in parallel, then the merges. */
#include "impl_spool.h"
#include "sort.h"

/* Two versions: the typed fork-join of spool.h (SPOOL_FORK / SPOOL_SYNC,
   the "spool" column), and with PERF_SPOOL_FN the spool_fn version
   (spool_fork / spool_sync, the "spool-fn" column, perf_spool_fn). */
#ifdef PERF_SPOOL_FN

typedef struct merge_args {
  const int32_t *a, *b;
  size_t na, nb;
  int32_t *out;
} merge_args;

typedef struct sort_args {
  int32_t *a, *tmp;
  size_t n;
} sort_args;

static int merge_task(void *arg, void **result) {
  (void)result;
  merge_args m = *(merge_args *)arg;
  if (m.na < m.nb) {
    const int32_t *t = m.a;
    m.a = m.b;
    m.b = t;
    size_t tn = m.na;
    m.na = m.nb;
    m.nb = tn;
  }
  if (m.na + m.nb <= MERGE_LEAF || m.nb == 0) {
    merge_leaf(m.a, m.na, m.b, m.nb, m.out);
    return 0;
  }
  size_t ma = m.na / 2, mb = sort_lower_bound(m.b, m.nb, m.a[ma]);
  merge_args low = {m.a, m.b, ma, mb, m.out};
  merge_args high = {m.a + ma, m.b + mb, m.na - ma, m.nb - mb, m.out + ma + mb};
  spool_task frame;
  spool_fork(&frame, merge_task, &low);
  int rc = merge_task(&high, NULL);
  int rc_low = spool_sync(&frame, NULL);
  return rc_low ? rc_low : rc;
}

static int sort_task(void *arg, void **result) {
  (void)result;
  sort_args *s = arg;
  if (s->n < SORT_LEAF) {
    sort_leaf(s->a, s->n);
    return 0;
  }
  size_t q = s->n / 4;
  sort_args quarter[4] = {{s->a, s->tmp, q},
                          {s->a + q, s->tmp + q, q},
                          {s->a + 2 * q, s->tmp + 2 * q, q},
                          {s->a + 3 * q, s->tmp + 3 * q, s->n - 3 * q}};
  spool_task frames[3];
  for (int i = 0; i < 3; i++)
    spool_fork(&frames[i], sort_task, &quarter[i]);
  int rc = sort_task(&quarter[3], NULL);
  for (int i = 2; i >= 0; i--) {
    int rc_child = spool_sync(&frames[i], NULL);
    if (rc_child && !rc) rc = rc_child;
  }
  if (rc) return rc;
  merge_args low = {s->a, s->a + q, q, q, s->tmp};
  merge_args high = {s->a + 2 * q, s->a + 3 * q, q, s->n - 3 * q, s->tmp + 2 * q};
  spool_fork(&frames[0], merge_task, &low);
  rc = merge_task(&high, NULL);
  int rc_low = spool_sync(&frames[0], NULL);
  if (rc_low) return rc_low;
  if (rc) return rc;
  merge_args all = {s->tmp, s->tmp + 2 * q, 2 * q, s->n - 2 * q, s->a};
  return merge_task(&all, NULL);
}

int sort_compute_spool(void *state) {
  sort_state *s = state;
  sort_args root = {s->data, s->tmp, s->n};
  return spool_run(bench_spool, sort_task, &root, NULL);
}

#else /* typed fork-join */

static void merge(const int32_t *a, size_t na, const int32_t *b, size_t nb, int32_t *out);
SPOOL_FORKABLE_VOID(merge, const int32_t *, size_t, const int32_t *, size_t, int32_t *);

static void merge(const int32_t *a, size_t na, const int32_t *b, size_t nb, int32_t *out) {
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
  spool_frame(merge) frame;
  SPOOL_FORK(&frame, merge, a, ma, b, mb, out);
  merge(a + ma, na - ma, b + mb, nb - mb, out + ma + mb);
  SPOOL_SYNC(&frame, merge);
}

static void sort(int32_t *a, int32_t *tmp, size_t n);
SPOOL_FORKABLE_VOID(sort, int32_t *, int32_t *, size_t);

static void sort(int32_t *a, int32_t *tmp, size_t n) {
  if (n < SORT_LEAF) {
    sort_leaf(a, n);
    return;
  }
  size_t q = n / 4;
  spool_frame(sort) quarters[3];
  for (size_t i = 0; i < 3; i++)
    SPOOL_FORK(&quarters[i], sort, a + i * q, tmp + i * q, q);
  sort(a + 3 * q, tmp + 3 * q, n - 3 * q);
  for (int i = 2; i >= 0; i--)
    SPOOL_SYNC(&quarters[i], sort);
  spool_frame(merge) low;
  SPOOL_FORK(&low, merge, a, q, a + q, q, tmp);
  merge(a + 2 * q, q, a + 3 * q, n - 3 * q, tmp + 2 * q);
  SPOOL_SYNC(&low, merge);
  merge(tmp, 2 * q, tmp + 2 * q, n - 2 * q, a);
}

static int sort_root(void *arg, void **result) {
  (void)result;
  sort_state *s = arg;
  sort(s->data, s->tmp, s->n);
  return 0;
}

int sort_compute_spool(void *state) {
  return spool_run(bench_spool, sort_root, state, NULL);
}

#endif
