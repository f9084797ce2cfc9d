// uts with oneTBB: a task_group per node runs a task per child.
#include "uts.h"

#include <tbb/task_group.h>

static long uts_tbb(const uts_tree *tree, const uts_node *parent, int index) {
  uts_node node;
  if (parent)
    uts_child(parent, index, &node);
  else
    uts_root(tree, &node);
  int children = uts_children(tree, &node);
  long count = 1;
  if (children > 0) {
    long counts[UTS_MAX_CHILDREN];
    tbb::task_group group;
    for (int i = 0; i < children; i++)
      group.run([&counts, &node, tree, i] { counts[i] = uts_tbb(tree, &node, i); });
    group.wait();
    for (int i = 0; i < children; i++)
      count += counts[i];
  }
  return count;
}

extern "C" int uts_compute_tbb(void *state) {
  uts_state *s = static_cast<uts_state *>(state);
  s->result = uts_tbb(s->tree, nullptr, 0);
  return 0;
}
