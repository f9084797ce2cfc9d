/* sort: input, checks, the serial leaves and the serial version (see
   sort.h). */
#include "sort.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INSERTION_LEAF 20

static const size_t sort_sizes[4] = {100000, 2000000, 10000000, 100000000};

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

static void sort_release(void *state);

static int sort_prepare(const char *size, void **state, char *err, size_t errlen) {
  sort_state *s = calloc(1, sizeof *s);
  if (!s) goto oom;
  s->n = sort_sizes[bench_size_index(size)];
  s->input = malloc(s->n * sizeof *s->input);
  s->data = malloc(s->n * sizeof *s->data);
  s->tmp = malloc(s->n * sizeof *s->tmp);
  if (!s->input || !s->data || !s->tmp) {
    sort_release(s);
    goto oom;
  }
  uint64_t seed = 0x9E3779B97F4A7C15ULL;
  for (size_t i = 0; i < s->n; i++) {
    s->input[i] = (int32_t)(uint32_t)(bench_rand_next(&seed) >> 32);
    s->sum += (uint64_t)(int64_t)s->input[i];
    s->mix += mix64((uint64_t)(uint32_t)s->input[i]);
  }
  /* Touch both working arrays once, so the first timed run does not pay
     for their page faults. */
  memset(s->tmp, 0, s->n * sizeof *s->tmp);
  *state = s;
  return 0;
oom:
  snprintf(err, errlen, "out of memory");
  return -1;
}

static void sort_reset(void *state) {
  sort_state *s = state;
  memcpy(s->data, s->input, s->n * sizeof *s->data);
}

static int sort_check(void *state, char *msg, size_t msglen) {
  sort_state *s = state;
  uint64_t sum = 0, mix = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (i > 0 && s->data[i - 1] > s->data[i]) {
      snprintf(msg, msglen, "not sorted at index %zu: %d > %d", i, (int)s->data[i - 1],
               (int)s->data[i]);
      return -1;
    }
    sum += (uint64_t)(int64_t)s->data[i];
    mix += mix64((uint64_t)(uint32_t)s->data[i]);
  }
  if (sum != s->sum || mix != s->mix) {
    snprintf(msg, msglen, "sorted output is not a permutation of the input");
    return -1;
  }
  return 0;
}

static void sort_report(void *state, double median_seconds, bench_report *r) {
  sort_state *s = state;
  snprintf(r->params, sizeof r->params, "n=%zu int32", s->n);
  snprintf(r->value, sizeof r->value, "sorted, checksum %016llx", (unsigned long long)s->mix);
  r->metrics[0].name = "ns_per_element";
  r->metrics[0].value = median_seconds * 1e9 / (double)s->n;
  r->nmetrics = 1;
}

static void sort_release(void *state) {
  sort_state *s = state;
  if (!s) return;
  free(s->input);
  free(s->data);
  free(s->tmp);
  free(s);
}

static void insertion_sort(int32_t *a, size_t n) {
  for (size_t i = 1; i < n; i++) {
    int32_t v = a[i];
    size_t j = i;
    for (; j > 0 && a[j - 1] > v; j--)
      a[j] = a[j - 1];
    a[j] = v;
  }
}

static int32_t median_of_three(int32_t x, int32_t y, int32_t z) {
  if (x < y) return y < z ? y : (x < z ? z : x);
  return x < z ? x : (y < z ? z : y);
}

/* The leaves are noinline so that every implementation, the serial one
   included, runs the same code. */
__attribute__((noinline)) void sort_leaf(int32_t *a, size_t n) {
  while (n > INSERTION_LEAF) {
    int32_t pivot = median_of_three(a[0], a[n / 2], a[n - 1]);
    size_t i = 0, j = n - 1;
    for (;;) { /* Hoare partition */
      while (a[i] < pivot)
        i++;
      while (a[j] > pivot)
        j--;
      if (i >= j) break;
      int32_t t = a[i];
      a[i++] = a[j];
      a[j--] = t;
    }
    /* Recurse into the smaller part, loop on the larger. */
    size_t left = j + 1;
    if (left < n - left) {
      sort_leaf(a, left);
      a += left;
      n -= left;
    } else {
      sort_leaf(a + left, n - left);
      n = left;
    }
  }
  insertion_sort(a, n);
}

__attribute__((noinline)) void merge_leaf(const int32_t *a, size_t na, const int32_t *b, size_t nb,
                                          int32_t *out) {
  size_t i = 0, j = 0, k = 0;
  while (i < na && j < nb)
    out[k++] = b[j] < a[i] ? b[j++] : a[i++];
  while (i < na)
    out[k++] = a[i++];
  while (j < nb)
    out[k++] = b[j++];
}

__attribute__((noinline)) size_t sort_lower_bound(const int32_t *b, size_t nb, int32_t key) {
  size_t lo = 0, hi = nb;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (b[mid] < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static void merge_serial(const int32_t *a, size_t na, const int32_t *b, size_t nb, int32_t *out) {
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
  merge_serial(a, ma, b, mb, out);
  merge_serial(a + ma, na - ma, b + mb, nb - mb, out + ma + mb);
}

static void sort_serial(int32_t *a, int32_t *tmp, size_t n) {
  if (n < SORT_LEAF) {
    sort_leaf(a, n);
    return;
  }
  size_t q = n / 4;
  sort_serial(a, tmp, q);
  sort_serial(a + q, tmp + q, q);
  sort_serial(a + 2 * q, tmp + 2 * q, q);
  sort_serial(a + 3 * q, tmp + 3 * q, n - 3 * q);
  merge_serial(a, q, a + q, q, tmp);
  merge_serial(a + 2 * q, q, a + 3 * q, n - 3 * q, tmp + 2 * q);
  merge_serial(tmp, 2 * q, tmp + 2 * q, n - 2 * q, a);
}

int sort_compute_serial(void *state) {
  sort_state *s = state;
  sort_serial(s->data, s->tmp, s->n);
  return 0;
}

const bench_problem sort_problem = {
    .name = "sort",
    .prepare = sort_prepare,
    .reset = sort_reset,
    .check = sort_check,
    .report = sort_report,
    .release = sort_release,
};
