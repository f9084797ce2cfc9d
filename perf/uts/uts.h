/* uts: the Unbalanced Tree Search benchmark (Olivier et al., LCPC 2006).
 *
 * The tree is never stored: a node is a 20-byte SHA-1 digest, a child's
 * digest is SHA-1(parent digest, child index as 4 big-endian bytes), and the
 * root's is SHA-1 of 16 zero bytes and the root seed (big-endian). A node's
 * number of children follows from its digest: for the geometric trees, with
 * the "fixed" shape, a node above the depth limit draws from a geometric
 * distribution of mean b0 (u uniform in [0,1) from the last four bytes,
 * masked to 31 bits, over 2^31: floor(log(1-u) / log(1 - 1/(1+b0)))),
 * capped at 100; a node at the depth limit is a leaf. So the node count is
 * a checksum of the whole traversal, comparable with the published ones:
 *
 *   T1  (-t 1 -a 3 -d 10 -b 4 -r 19):   4,130,071 nodes
 *   T1L (-t 1 -a 3 -d 13 -b 4 -r 29): 102,181,082 nodes
 *
 * SHA-1 comes from OpenSSL's libcrypto. Every implementation forks a task
 * per child (no cutoff), each child computing its own digest. */
#ifndef PERF_UTS_H
#define PERF_UTS_H

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UTS_MAX_CHILDREN 100

typedef struct uts_node {
  unsigned char digest[20];
  int height;
} uts_node;

typedef struct uts_tree {
  const char *name;
  int depth;     /* nodes at this height are leaves */
  double b0;     /* mean branching factor */
  int root_seed; /* -r */
  long nodes;    /* the expected count */
} uts_tree;

typedef struct uts_state {
  const uts_tree *tree;
  long result;
} uts_state;

void uts_root(const uts_tree *tree, uts_node *root);
/* Fills *child, the i-th child of *parent. */
void uts_child(const uts_node *parent, int i, uts_node *child);
int uts_children(const uts_tree *tree, const uts_node *node);

extern const bench_problem uts_problem;

int uts_compute_serial(void *state);
int uts_compute_spool(void *state);
int uts_compute_omp(void *state);
int uts_compute_tbb(void *state);

#ifdef __cplusplus
}
#endif

#endif /* PERF_UTS_H */
