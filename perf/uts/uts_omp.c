/* uts with OpenMP tasks: a task per child, one taskwait. */
#include "uts.h"

static long uts_omp(const uts_tree *tree, const uts_node *parent, int index) {
  uts_node node;
  if (parent)
    uts_child(parent, index, &node);
  else
    uts_root(tree, &node);
  int children = uts_children(tree, &node);
  long count = 1;
  if (children > 0) {
    long counts[children];
    for (int i = 0; i < children; i++) {
#pragma omp task shared(counts, node) firstprivate(i)
      counts[i] = uts_omp(tree, &node, i);
    }
#pragma omp taskwait
    for (int i = 0; i < children; i++)
      count += counts[i];
  }
  return count;
}

int uts_compute_omp(void *state) {
  uts_state *s = state;
  long result = 0;
#pragma omp parallel
#pragma omp single
  result = uts_omp(s->tree, NULL, 0);
  s->result = result;
  return 0;
}
