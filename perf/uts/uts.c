/* uts: the tree's random numbers, sizes, checks and the serial version
   (see uts.h). */

/* SHA1_Init/Update/Final: deprecated in OpenSSL 3 in favour of EVP, whose
   per-call fetch and context set-up cost several times a 24-byte hash and
   take locks, which would make this benchmark measure OpenSSL. */
#define OPENSSL_API_COMPAT 0x10100000L
#include "uts.h"

#include <math.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>

/* tiny: T1 cut at depth 6, small: at depth 9 (counts measured with this
   code, which reproduces T1 and T1L exactly); full: T1; large: T1L. */
static const uts_tree uts_trees[4] = {
    {"T1 depth 6", 6, 4.0, 19, 16000},
    {"T1 depth 9", 9, 4.0, 19, 1031269},
    {"T1", 10, 4.0, 19, 4130071},
    {"T1L", 13, 4.0, 29, 102181082},
};

void uts_root(const uts_tree *tree, uts_node *root) {
  unsigned char seed[20] = {0};
  seed[16] = (unsigned char)(tree->root_seed >> 24);
  seed[17] = (unsigned char)(tree->root_seed >> 16);
  seed[18] = (unsigned char)(tree->root_seed >> 8);
  seed[19] = (unsigned char)tree->root_seed;
  SHA_CTX ctx;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, seed, sizeof seed);
  SHA1_Final(root->digest, &ctx);
  root->height = 0;
}

/* noinline, like uts_children: every implementation runs the same code. */
__attribute__((noinline)) void uts_child(const uts_node *parent, int i, uts_node *child) {
  unsigned char index[4] = {(unsigned char)(i >> 24), (unsigned char)(i >> 16),
                            (unsigned char)(i >> 8), (unsigned char)i};
  SHA_CTX ctx;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, parent->digest, sizeof parent->digest);
  SHA1_Update(&ctx, index, sizeof index);
  SHA1_Final(child->digest, &ctx);
  child->height = parent->height + 1;
}

__attribute__((noinline)) int uts_children(const uts_tree *tree, const uts_node *node) {
  if (node->height >= tree->depth) return 0;
  const unsigned char *d = node->digest;
  uint32_t bits =
      ((uint32_t)d[16] << 24 | (uint32_t)d[17] << 16 | (uint32_t)d[18] << 8 | (uint32_t)d[19]) &
      0x7fffffffu;
  double u = (double)bits / 2147483648.0;
  double p = 1.0 / (1.0 + tree->b0);
  int n = (int)floor(log(1.0 - u) / log(1.0 - p));
  return n > UTS_MAX_CHILDREN ? UTS_MAX_CHILDREN : n;
}

static int uts_prepare(const char *size, void **state, char *err, size_t errlen) {
  uts_state *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->tree = &uts_trees[bench_size_index(size)];
  *state = s;
  return 0;
}

static int uts_check(void *state, char *msg, size_t msglen) {
  uts_state *s = state;
  if (s->result == s->tree->nodes) return 0;
  snprintf(msg, msglen, "%s: %ld nodes, expected %ld", s->tree->name, s->result, s->tree->nodes);
  return -1;
}

static void uts_report(void *state, double median_seconds, bench_report *r) {
  uts_state *s = state;
  snprintf(r->params, sizeof r->params, "%s (d=%d b=%g r=%d)", s->tree->name, s->tree->depth,
           s->tree->b0, s->tree->root_seed);
  snprintf(r->value, sizeof r->value, "%ld nodes", s->result);
  r->metrics[0].name = "ns_per_node";
  r->metrics[0].value = median_seconds * 1e9 / (double)s->result;
  r->nmetrics = 1;
}

static void uts_release(void *state) {
  free(state);
}

static long uts_serial(const uts_tree *tree, const uts_node *node) {
  long count = 1;
  int children = uts_children(tree, node);
  for (int i = 0; i < children; i++) {
    uts_node child;
    uts_child(node, i, &child);
    count += uts_serial(tree, &child);
  }
  return count;
}

int uts_compute_serial(void *state) {
  uts_state *s = state;
  uts_node root;
  uts_root(s->tree, &root);
  s->result = uts_serial(s->tree, &root);
  return 0;
}

const bench_problem uts_problem = {
    .name = "uts",
    .prepare = uts_prepare,
    .check = uts_check,
    .report = uts_report,
    .release = uts_release,
};
