/* uts with spool: fork a task per child; each child hashes its own digest. */
#include "impl_spool.h"
#include "uts.h"

/* Two versions: the typed fork-join of spool.h (SPOOL_FORK / SPOOL_SYNC,
   the "spool" column), and with PERF_SPOOL_FN the spool_fn version
   (spool_fork / spool_sync, the "spool-fn" column, perf_spool_fn). */
#ifdef PERF_SPOOL_FN

typedef struct visit {
  const uts_tree *tree;
  const uts_node *parent; /* NULL for the root */
  int index;
  long count; /* nodes in the subtree, written by the task */
} visit;

static int visit_task(void *arg, void **result) {
  (void)result;
  visit *v = arg;
  uts_node node;
  if (v->parent)
    uts_child(v->parent, v->index, &node);
  else
    uts_root(v->tree, &node);
  int children = uts_children(v->tree, &node);
  long count = 1;
  int rc = 0;
  if (children > 0) {
    visit next[children];
    spool_task frames[children];
    for (int i = 0; i < children; i++) {
      next[i] = (visit){v->tree, &node, i, 0};
      spool_fork(&frames[i], visit_task, &next[i]);
    }
    for (int i = children - 1; i >= 0; i--) {
      int rc_child = spool_sync(&frames[i], NULL);
      if (rc_child && !rc) rc = rc_child;
      count += next[i].count;
    }
  }
  v->count = count;
  return rc;
}

int uts_compute_spool(void *state) {
  uts_state *s = state;
  visit root = {s->tree, NULL, 0, 0};
  int rc = spool_run(bench_spool, visit_task, &root, NULL);
  s->result = root.count;
  return rc;
}

#else /* typed fork-join */

static long visit(const uts_tree *tree, const uts_node *parent, int index);
SPOOL_FORKABLE(long, visit, const uts_tree *, const uts_node *, int);

/* The nodes in the subtree of parent's child `index` (the root's, with
   parent NULL). */
static long visit(const uts_tree *tree, const uts_node *parent, int index) {
  uts_node node;
  if (parent)
    uts_child(parent, index, &node);
  else
    uts_root(tree, &node);
  int children = uts_children(tree, &node);
  long count = 1;
  if (children > 0) {
    spool_frame(visit) frames[children];
    for (int i = 0; i < children; i++)
      SPOOL_FORK(&frames[i], visit, tree, &node, i);
    for (int i = children - 1; i >= 0; i--)
      count += SPOOL_SYNC(&frames[i], visit);
  }
  return count;
}

static int visit_root(void *arg, void **result) {
  (void)result;
  uts_state *s = arg;
  s->result = visit(s->tree, NULL, 0);
  return 0;
}

int uts_compute_spool(void *state) {
  return spool_run(bench_spool, visit_root, state, NULL);
}

#endif
