/* The order in which a thief visits victims: nearest first.
 *
 * A steal round walks levels: the workers that share the thief's core,
 * then its cache (L3), then its NUMA node, then the other nodes in groups
 * of equal distance, nearest group first. Inside a level the walk starts
 * at a random member, so thieves of one level do not all hit the same
 * victim. A farther level is tried only when the nearer ones gave nothing
 * in this round.
 *
 * The map is computed once by topology.c from the placement plan and is
 * immutable afterwards, so thieves read it without synchronisation. It is
 * O(workers + nodes^2) in size: workers sorted so that each level of each
 * worker is a contiguous range of `order` minus the (contiguous) level
 * inside it. */
#ifndef SPOOL_VICTIMS_H
#define SPOOL_VICTIMS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct plan_range {
  unsigned lo, hi; /* [lo, hi) in victim_map.order */
} plan_range;

/* Where a worker sits in `order`: nested ranges core ⊆ cache ⊆ node. */
typedef struct victim_place {
  unsigned pos; /* the worker's own index in `order` */
  plan_range core, cache, node;
  unsigned node_index; /* its NUMA node (injector index) */
} victim_place;

typedef struct victim_map {
  unsigned nworkers;
  unsigned nnodes;        /* NUMA nodes with workers */
  bool flat;              /* unbound workers: one level, every other worker */
  unsigned *order;        /* worker indices, grouped by node, cache, core */
  victim_place *place;    /* per worker */
  plan_range *node_range; /* per node: its workers in `order` */
  /* Per node a, row a of nnodes - 1 entries: the other nodes, nearest
     first; remote_group[a][j] is the distance group (0, 1, ...) of
     remote[a][j], non-decreasing along the row. */
  unsigned *remote;
  unsigned *remote_group;
} victim_map;

enum { VICTIM_LEVEL_CORE, VICTIM_LEVEL_CACHE, VICTIM_LEVEL_NODE, VICTIM_LEVEL_REMOTE };
#define VICTIM_MAX_SEGMENTS 64

/* The members of level `level` of worker w's order, as up to `max` ranges
   of `order` (the thief itself excluded). Returns the number of ranges, or
   -1 when w has no such level (levels are 0, 1, 2, then one per remote
   distance group). Ranges may be empty. A remote group with more nodes
   than `max` is cut to `max` (never with VICTIM_MAX_SEGMENTS nodes or
   fewer). */
int victim_level(const victim_map *m, unsigned w, unsigned level, plan_range *seg, int max);

/* The k-th member (0 <= k < total) of the union of `n` ranges. */
static inline unsigned victim_member(const victim_map *m, const plan_range *seg, int n,
                                     unsigned k) {
  for (int i = 0; i < n; i++) {
    unsigned len = seg[i].hi - seg[i].lo;
    if (k < len) return m->order[seg[i].lo + k];
    k -= len;
  }
  return m->order[0]; /* unreachable for k < total */
}

static inline unsigned victim_count(const plan_range *seg, int n) {
  unsigned total = 0;
  for (int i = 0; i < n; i++)
    total += seg[i].hi - seg[i].lo;
  return total;
}

void victim_map_free(victim_map *m);

#endif /* SPOOL_VICTIMS_H */
