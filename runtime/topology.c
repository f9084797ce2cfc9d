/* Topology: the only file that includes hwloc.h.
 *
 * hwloc tells which hardware threads the process may use (its CPU binding,
 * which reflects cgroups, taskset and affinity masks), how they group into
 * cores and NUMA nodes. From that: the default worker count (one per
 * allowed hardware thread, like OpenMP and oneTBB), where each worker is
 * bound, and which injection queue (one per NUMA node with workers) it
 * serves. */
#include "internal.h"

#include <hwloc.h>
#include <stdlib.h>
#include <string.h>

/* The topology is loaded once per process, not per executor: a load costs
   milliseconds, and hwloc 2.9 itself can crash when memory runs out while
   it loads (README), so the window is kept small. hwloc reads
   HWLOC_SYNTHETIC and HWLOC_XMLFILE at load time: when either differs from
   what the cached topology was loaded with, it is loaded again. Everything
   from topology_load() to topology_unload() runs under topology_lock, so
   executors created concurrently share the cache safely (creation is not
   a hot path). */
static pthread_mutex_t topology_lock = PTHREAD_MUTEX_INITIALIZER;
static hwloc_topology_t topology_cached;        /* under topology_lock */
static char *cached_synthetic, *cached_xmlfile; /* under topology_lock */

static bool same_env(const char *cached, const char *now) {
  return cached ? now && strcmp(cached, now) == 0 : now == NULL;
}

/* Under topology_lock: the cached topology, (re)loaded if needed. */
static hwloc_topology_t topology_cache_get(void) {
  const char *synthetic = getenv("HWLOC_SYNTHETIC"), *xmlfile = getenv("HWLOC_XMLFILE");
  if (topology_cached && same_env(cached_synthetic, synthetic) && same_env(cached_xmlfile, xmlfile))
    return topology_cached;
  if (topology_cached) {
    hwloc_topology_destroy(topology_cached);
    topology_cached = NULL;
  }
  free(cached_synthetic);
  free(cached_xmlfile);
  cached_synthetic = synthetic ? strdup(synthetic) : NULL;
  cached_xmlfile = xmlfile ? strdup(xmlfile) : NULL;
  if ((synthetic && !cached_synthetic) || (xmlfile && !cached_xmlfile)) return NULL;
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) != 0) return NULL;
  if (hwloc_topology_load(topo) != 0) {
    hwloc_topology_destroy(topo);
    return NULL;
  }
  topology_cached = topo;
  return topo;
}

void topology_cache_release(void) {
  pthread_mutex_lock(&topology_lock);
  if (topology_cached) hwloc_topology_destroy(topology_cached);
  topology_cached = NULL;
  free(cached_synthetic);
  free(cached_xmlfile);
  cached_synthetic = cached_xmlfile = NULL;
  pthread_mutex_unlock(&topology_lock);
}

static void topology_unload(hwloc_topology_t topo) {
  if (topo) pthread_mutex_unlock(&topology_lock);
}

/* The topology restricted to what this process may run on; NULL on error.
   Give it back with topology_unload(). */
static hwloc_topology_t topology_load(hwloc_bitmap_t allowed) {
  pthread_mutex_lock(&topology_lock);
  hwloc_topology_t topo = topology_cache_get();
  if (!topo) {
    pthread_mutex_unlock(&topology_lock);
    return NULL;
  }
  /* The creating thread's binding (taskset, sched_setaffinity, cgroup
     cpusets), intersected with what the topology allows: the workers
     inherit that thread's mask, so a count taken from the whole process's
     (the union over its threads) could start more workers than the CPUs
     they may run on (found by review). sched_getaffinity(0) below, and
     OpenMP and oneTBB, read the calling thread's mask too. */
  if (!hwloc_topology_is_thissystem(topo) ||
      hwloc_get_cpubind(topo, allowed, HWLOC_CPUBIND_THREAD) != 0)
    hwloc_bitmap_copy(allowed, hwloc_topology_get_allowed_cpuset(topo));
  else
    hwloc_bitmap_and(allowed, allowed, hwloc_topology_get_allowed_cpuset(topo));
  if (hwloc_bitmap_iszero(allowed))
    hwloc_bitmap_copy(allowed, hwloc_topology_get_allowed_cpuset(topo));
  return topo;
}

/* hwloc failed: the kernel's view of our affinity. */
static unsigned affinity_count(void) {
  cpu_set_t set;
  int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  return n < 1 ? 1u : (unsigned)n;
}

unsigned topology_default_workers(void) {
  hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
  if (!allowed) return 1;
  hwloc_topology_t topo = topology_load(allowed);
  int n = topo ? hwloc_bitmap_weight(allowed) : -1;
  topology_unload(topo);
  hwloc_bitmap_free(allowed);
  unsigned count = n < 1 ? affinity_count() : (unsigned)n;
  /* Clamped: a machine with more hardware threads still gets a valid
     executor by default. */
  return count > SPOOL_MAX_WORKERS ? SPOOL_MAX_WORKERS : count;
}

static void cpuset_from_bitmap(cpu_set_t *out, hwloc_const_bitmap_t b) {
  CPU_ZERO(out);
  unsigned id;
  hwloc_bitmap_foreach_begin(id, b) {
    if (id < CPU_SETSIZE) CPU_SET(id, out);
  }
  hwloc_bitmap_foreach_end();
}

/* The allowed PUs in an order that fills distinct cores first (first PU of
   every core, then the second ones), so CORE binding with fewer workers than
   hardware threads does not put two workers on one core. */
static unsigned pu_order(hwloc_topology_t topo, hwloc_const_bitmap_t allowed, hwloc_obj_t *out,
                         unsigned max) {
  unsigned n = 0;
  int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  if (ncores <= 0) {
    hwloc_obj_t pu = NULL;
    while ((pu = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PU, pu)) && n < max)
      if (hwloc_bitmap_isset(allowed, pu->os_index)) out[n++] = pu;
    return n;
  }
  for (unsigned round = 0;; round++) {
    bool any = false;
    for (int c = 0; c < ncores; c++) {
      hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)c);
      unsigned seen = 0;
      hwloc_obj_t pu = NULL;
      while (
          (pu = hwloc_get_next_obj_inside_cpuset_by_type(topo, core->cpuset, HWLOC_OBJ_PU, pu))) {
        if (!hwloc_bitmap_isset(allowed, pu->os_index)) continue;
        if (seen++ == round) {
          if (n < max) out[n++] = pu;
          any = true;
          break;
        }
      }
    }
    if (!any) break;
  }
  return n;
}

/* Logical index of the NUMA node whose cpuset holds `pu` (0 if none). */
static int node_of_pu(hwloc_topology_t topo, hwloc_obj_t pu) {
  hwloc_obj_t node = NULL;
  int i = 0;
  while ((node = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, node))) {
    if (hwloc_bitmap_intersects(node->cpuset, pu->cpuset)) return i;
    i++;
  }
  return 0;
}

/* Sort keys of a worker's place: node, cache, core, then its index. */
typedef struct place_key {
  unsigned node, cache, core, worker;
} place_key;

static int place_key_cmp(const void *a, const void *b) {
  const place_key *x = a, *y = b;
  if (x->node != y->node) return x->node < y->node ? -1 : 1;
  if (x->cache != y->cache) return x->cache < y->cache ? -1 : 1;
  if (x->core != y->core) return x->core < y->core ? -1 : 1;
  return x->worker < y->worker ? -1 : x->worker > y->worker;
}

/* Distance between NUMA nodes a and b (logical indexes): hwloc's distance
   matrix when the machine reports one, else the depth of their nearest
   common ancestor (same package is nearer than another package). */
static uint64_t node_distance(hwloc_topology_t topo, struct hwloc_distances_s *d, int a, int b) {
  hwloc_obj_t na = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)a);
  hwloc_obj_t nb = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)b);
  if (!na || !nb) return 0;
  if (d) {
    hwloc_uint64_t ab, ba;
    if (hwloc_distances_obj_pair_values(d, na, nb, &ab, &ba) == 0) return ab;
  }
  hwloc_obj_t common = hwloc_get_common_ancestor_obj(topo, na->parent, nb->parent);
  int depth = hwloc_topology_get_depth(topo);
  return common ? (uint64_t)(depth - common->depth) : (uint64_t)depth;
}

typedef struct remote_key {
  uint64_t distance;
  unsigned node;
} remote_key;

static int remote_key_cmp(const void *a, const void *b) {
  const remote_key *x = a, *y = b;
  if (x->distance != y->distance) return x->distance < y->distance ? -1 : 1;
  return x->node < y->node ? -1 : x->node > y->node;
}

/* Builds the victim map from each worker's keys (injector-indexed nodes,
   whose logical NUMA index is node_logical[k]). */
static int victim_map_build(victim_map *m, hwloc_topology_t topo, place_key *keys, unsigned workers,
                            unsigned nnodes, const int *node_logical, bool flat) {
  m->nworkers = workers;
  m->nnodes = nnodes;
  m->flat = flat;
  m->order = calloc(workers, sizeof *m->order);
  m->place = calloc(workers, sizeof *m->place);
  m->node_range = calloc(nnodes, sizeof *m->node_range);
  size_t row = nnodes > 1 ? nnodes - 1 : 1;
  m->remote = calloc(nnodes * row, sizeof *m->remote);
  m->remote_group = calloc(nnodes * row, sizeof *m->remote_group);
  remote_key *rk = calloc(nnodes, sizeof *rk);
  if (!m->order || !m->place || !m->node_range || !m->remote || !m->remote_group || !rk) {
    free(rk);
    return SPOOL_ENOMEM;
  }
  qsort(keys, workers, sizeof *keys, place_key_cmp);
  for (unsigned i = 0; i < workers; i++)
    m->order[i] = keys[i].worker;
  /* Runs of equal keys in sorted order are the nested ranges. */
  for (unsigned i = 0; i < workers;) {
    unsigned j = i;
    while (j < workers && keys[j].node == keys[i].node)
      j++;
    m->node_range[keys[i].node] = (plan_range){i, j};
    for (unsigned c = i; c < j;) {
      unsigned e = c;
      while (e < j && keys[e].cache == keys[c].cache)
        e++;
      for (unsigned k = c; k < e;) {
        unsigned f = k;
        while (f < e && keys[f].core == keys[k].core)
          f++;
        for (unsigned x = k; x < f; x++) {
          victim_place *pl = &m->place[keys[x].worker];
          pl->pos = x;
          pl->core = (plan_range){k, f};
          pl->cache = (plan_range){c, e};
          pl->node = (plan_range){i, j};
          pl->node_index = keys[x].node;
        }
        k = f;
      }
      c = e;
    }
    i = j;
  }
  struct hwloc_distances_s *dist = NULL;
  unsigned nr = 1;
  if (topo && nnodes > 1 &&
      (hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &nr, &dist, 0, 0) != 0 || nr == 0))
    dist = NULL;
  for (unsigned a = 0; a < nnodes; a++) {
    unsigned n = 0;
    for (unsigned b = 0; b < nnodes; b++)
      if (b != a)
        rk[n++] =
            (remote_key){topo ? node_distance(topo, dist, node_logical[a], node_logical[b]) : 0, b};
    qsort(rk, n, sizeof *rk, remote_key_cmp);
    unsigned group = 0;
    for (unsigned j = 0; j < n; j++) {
      if (j > 0 && rk[j].distance != rk[j - 1].distance) group++;
      m->remote[a * row + j] = rk[j].node;
      m->remote_group[a * row + j] = group;
    }
  }
  if (dist) hwloc_distances_release(topo, dist);
  free(rk);
  return SPOOL_OK;
}

void victim_map_free(victim_map *m) {
  free(m->order);
  free(m->place);
  free(m->node_range);
  free(m->remote);
  free(m->remote_group);
  memset(m, 0, sizeof *m);
}

int victim_level(const victim_map *m, unsigned w, unsigned level, plan_range *seg, int max) {
  const victim_place *p = &m->place[w];
  if (m->flat || m->nworkers < 2) {
    if (level > 0 || max < 2) return -1;
    seg[0] = (plan_range){0, p->pos};
    seg[1] = (plan_range){p->pos + 1, m->nworkers};
    return 2;
  }
  plan_range outer, inner;
  switch (level) {
  case VICTIM_LEVEL_CORE:
    outer = p->core;
    inner = (plan_range){p->pos, p->pos + 1};
    break;
  case VICTIM_LEVEL_CACHE:
    outer = p->cache;
    inner = p->core;
    break;
  case VICTIM_LEVEL_NODE:
    outer = p->node;
    inner = p->cache;
    break;
  default: {
    /* Remote distance group level - VICTIM_LEVEL_REMOTE. */
    unsigned want = level - VICTIM_LEVEL_REMOTE;
    size_t row = m->nnodes - 1;
    const unsigned *rem = m->remote + (size_t)p->node_index * row;
    const unsigned *grp = m->remote_group + (size_t)p->node_index * row;
    int n = 0;
    bool found = false;
    for (size_t j = 0; j < row && m->nnodes > 1; j++) {
      if (grp[j] != want) continue;
      found = true;
      if (n < max) seg[n++] = m->node_range[rem[j]];
    }
    return found ? n : -1;
  }
  }
  if (max < 2) return -1;
  seg[0] = (plan_range){outer.lo, inner.lo};
  seg[1] = (plan_range){inner.hi, outer.hi};
  return 2;
}

void topology_plan_free(topology_plan *p) {
  free(p->cpus);
  free(p->node);
  free(p->pu);
  free(p->cpu_node);
  victim_map_free(&p->victims);
  memset(p, 0, sizeof *p);
}

/* SPREAD placement: each next worker goes to the allowed PU that is least
   used at every level from the top: the package with the fewest workers,
   in it the NUMA node with the fewest, then the L3, the core and the PU
   (ties: the earlier in pu_order). So workers spread evenly over packages
   and nodes first, as OMP_PROC_BIND=spread does over places. */
#define SPREAD_LEVELS 4 /* package, node, L3, core; then the PU itself */

typedef struct spreader {
  unsigned n;
  unsigned *key;   /* per PU (pu_order index): a dense id per level */
  unsigned *count; /* workers so far per id of each level, then per PU */
} spreader;

static hwloc_obj_t spread_level_obj(hwloc_topology_t topo, hwloc_obj_t pu, int level) {
  static const hwloc_obj_type_t types[SPREAD_LEVELS] = {HWLOC_OBJ_PACKAGE, HWLOC_OBJ_NUMANODE,
                                                        HWLOC_OBJ_L3CACHE, HWLOC_OBJ_CORE};
  if (types[level] != HWLOC_OBJ_NUMANODE)
    return hwloc_get_ancestor_obj_by_type(topo, types[level], pu);
  return hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)node_of_pu(topo, pu));
}

static int spread_init(spreader *sp, hwloc_topology_t topo, hwloc_obj_t *pus, unsigned n) {
  sp->n = n;
  sp->key = calloc((size_t)n * SPREAD_LEVELS, sizeof *sp->key);
  sp->count = calloc((size_t)n * (SPREAD_LEVELS + 1), sizeof *sp->count);
  hwloc_obj_t *obj = calloc((size_t)n * SPREAD_LEVELS, sizeof *obj);
  if (!sp->key || !sp->count || !obj) {
    free(obj);
    return -1;
  }
  /* A level's id of a PU: the index of the first PU under the same object
     (a PU with no such object is alone at that level). */
  for (unsigned i = 0; i < n; i++)
    for (int l = 0; l < SPREAD_LEVELS; l++) {
      hwloc_obj_t o = spread_level_obj(topo, pus[i], l);
      obj[i * SPREAD_LEVELS + l] = o;
      unsigned id = i;
      for (unsigned j = 0; o && j < i && id == i; j++)
        if (obj[j * SPREAD_LEVELS + l] == o) id = j;
      sp->key[i * SPREAD_LEVELS + l] = id;
    }
  free(obj);
  return 0;
}

static unsigned spread_next(spreader *sp) {
  unsigned best = 0;
  unsigned best_c[SPREAD_LEVELS + 1];
  for (unsigned i = 0; i < sp->n; i++) {
    unsigned c[SPREAD_LEVELS + 1];
    for (int l = 0; l < SPREAD_LEVELS; l++)
      c[l] = sp->count[(size_t)l * sp->n + sp->key[i * SPREAD_LEVELS + l]];
    c[SPREAD_LEVELS] = sp->count[(size_t)SPREAD_LEVELS * sp->n + i];
    int cmp = 0;
    for (int l = 0; l <= SPREAD_LEVELS && i > 0 && cmp == 0; l++)
      cmp = c[l] < best_c[l] ? -1 : c[l] > best_c[l];
    if (i == 0 || cmp < 0) {
      best = i;
      memcpy(best_c, c, sizeof c);
    }
  }
  for (int l = 0; l < SPREAD_LEVELS; l++)
    sp->count[(size_t)l * sp->n + sp->key[best * SPREAD_LEVELS + l]]++;
  sp->count[(size_t)SPREAD_LEVELS * sp->n + best]++;
  return best;
}

static void spread_free(spreader *sp) {
  free(sp->key);
  free(sp->count);
  memset(sp, 0, sizeof *sp);
}

/* The allowed PUs of NUMA node `node` (logical index), in pu_order. */
static unsigned pus_of_node(hwloc_topology_t topo, hwloc_obj_t *pus, unsigned n, int node,
                            hwloc_obj_t *out) {
  unsigned k = 0;
  for (unsigned i = 0; i < n; i++)
    if (node_of_pu(topo, pus[i]) == node) out[k++] = pus[i];
  return k;
}

int topology_plan_compute(topology_plan *p, struct hwloc_topology *topo,
                          const struct hwloc_bitmap_s *allowed_set, unsigned workers,
                          spool_bind bind) {
  memset(p, 0, sizeof *p);
  spreader spread = {0};
  hwloc_const_bitmap_t allowed = allowed_set;
  int npu = topo && allowed ? hwloc_bitmap_weight(allowed) : 0;
  if (npu < 0) npu = 0;
  if (workers == 0) {
    workers = npu > 0 ? (unsigned)npu : 1;
    if (workers > SPOOL_MAX_WORKERS) workers = SPOOL_MAX_WORKERS; /* the clamped default */
  }
  p->workers = workers;
  p->spare_cpus = npu > 0 && (unsigned)npu > workers;
  int nnuma = topo ? hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE) : 0;
  if (nnuma < 1) nnuma = 1;
  p->node = calloc(workers, sizeof *p->node);
  p->pu = calloc(workers, sizeof *p->pu);
  hwloc_obj_t *pus = npu > 0 ? calloc((size_t)npu, sizeof *pus) : NULL;
  hwloc_obj_t *node_pus = npu > 0 ? calloc((size_t)npu, sizeof *node_pus) : NULL;
  int *injector_of_node = calloc((size_t)nnuma, sizeof *injector_of_node);
  int *node_logical = calloc((size_t)nnuma, sizeof *node_logical);
  place_key *keys = calloc(workers, sizeof *keys);
  if (!p->node || !p->pu || (npu > 0 && (!pus || !node_pus)) || !injector_of_node ||
      !node_logical || !keys)
    goto nomem;
  unsigned n = pus ? pu_order(topo, allowed, pus, (unsigned)npu) : 0;
  if (bind != SPOOL_BIND_NONE && n > 0) {
    p->cpus = calloc(workers, sizeof *p->cpus);
    if (!p->cpus) goto nomem;
  }
  if (bind == SPOOL_BIND_SPREAD && n > 0 && spread_init(&spread, topo, pus, n) != 0) goto nomem;
  /* NUMA nodes that hold allowed PUs, in logical order. */
  int nallowed_nodes = 0;
  int *allowed_node = calloc((size_t)nnuma, sizeof *allowed_node);
  if (!allowed_node) goto nomem;
  for (int k = 0; k < nnuma; k++) {
    bool has = false;
    for (unsigned i = 0; i < n && !has; i++)
      has = node_of_pu(topo, pus[i]) == k;
    if (has) allowed_node[nallowed_nodes++] = k;
  }
  if (nallowed_nodes == 0) allowed_node[nallowed_nodes++] = 0;

  for (int k = 0; k < nnuma; k++)
    injector_of_node[k] = -1;
  p->nodes = 0;
  for (unsigned i = 0; i < workers; i++) {
    hwloc_obj_t pu = NULL;
    int node = 0;
    if (n > 0 && bind == SPOOL_BIND_NUMA) {
      /* Workers in blocks over the allowed nodes (worker i on node
         floor(i * nodes / workers)); within a node, its PUs in turn. */
      unsigned block = (unsigned)((uint64_t)i * (unsigned)nallowed_nodes / workers);
      node = allowed_node[block];
      unsigned first = (unsigned)(((uint64_t)block * workers + (unsigned)nallowed_nodes - 1) /
                                  (unsigned)nallowed_nodes);
      unsigned k = pus_of_node(topo, pus, n, node, node_pus);
      pu = k > 0 ? node_pus[(i - first) % k] : pus[i % n];
    } else if (n > 0) {
      /* CORE fills distinct cores in order; SPREAD strides across the
         ordered PUs, and so across packages, nodes and caches. NONE uses
         CORE's order only to choose an injection queue. */
      unsigned idx = i % n;
      if (bind == SPOOL_BIND_SPREAD) idx = spread_next(&spread);
      pu = pus[idx];
      node = node_of_pu(topo, pu);
    }
    p->pu[i] = pu ? (int)pu->os_index : -1;
    if (injector_of_node[node] < 0) {
      node_logical[p->nodes] = node;
      injector_of_node[node] = (int)p->nodes++;
    }
    p->node[i] = (unsigned)injector_of_node[node];
    hwloc_obj_t core = pu ? hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, pu) : NULL;
    hwloc_obj_t cache = pu ? hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_L3CACHE, pu) : NULL;
    /* A worker bound to a whole node shares no core or cache with another
       in particular (unique keys: its nearest level is the node). Without
       a cache or core level, the next one up stands in. */
    keys[i] = (place_key){p->node[i], i, i, i};
    if (bind != SPOOL_BIND_NUMA) {
      keys[i].cache = cache ? cache->logical_index : 0;
      keys[i].core = core ? core->logical_index : pu ? pu->logical_index : 0;
    }
    if (!p->cpus) continue;
    if (bind == SPOOL_BIND_NUMA) {
      hwloc_obj_t obj = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)node);
      hwloc_bitmap_t set = hwloc_bitmap_dup(obj ? obj->cpuset : pu->cpuset);
      if (!set) {
        free(allowed_node);
        goto nomem;
      }
      hwloc_bitmap_and(set, set, allowed);
      cpuset_from_bitmap(&p->cpus[i], set);
      hwloc_bitmap_free(set);
    } else {
      cpuset_from_bitmap(&p->cpus[i], pu->cpuset);
    }
  }
  free(allowed_node);
  if (p->nodes == 0) p->nodes = 1;
  /* SPOOL_FLAT_VICTIMS (a build option for measurements only): one level
     of every other worker, as for unbound workers, with binding unchanged;
     perf/README.md's A/B of nearest-first stealing on one node uses it. */
  bool flat_victims = bind == SPOOL_BIND_NONE || n == 0;
#ifdef SPOOL_FLAT_VICTIMS
  flat_victims = true;
#endif
  if (victim_map_build(&p->victims, topo, keys, workers, p->nodes, node_logical, flat_victims) !=
      SPOOL_OK)
    goto nomem;

  /* CPU -> injector for submissions from outside: a CPU of a node with no
     worker goes to injector 0. */
  int last = topo ? hwloc_bitmap_last(hwloc_topology_get_complete_cpuset(topo)) : -1;
  p->cpu_node_len = last >= 0 ? (unsigned)last + 1 : 0;
  if (p->cpu_node_len) {
    p->cpu_node = calloc(p->cpu_node_len, sizeof *p->cpu_node);
    if (!p->cpu_node) goto nomem;
    hwloc_obj_t pu = NULL;
    while ((pu = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PU, pu))) {
      int inj = injector_of_node[node_of_pu(topo, pu)];
      if (pu->os_index < p->cpu_node_len) p->cpu_node[pu->os_index] = inj < 0 ? 0 : (unsigned)inj;
    }
  }
  spread_free(&spread);
  free(keys);
  free(node_logical);
  free(injector_of_node);
  free(node_pus);
  free(pus);
  return SPOOL_OK;

nomem:
  spread_free(&spread);
  free(keys);
  free(node_logical);
  free(injector_of_node);
  free(node_pus);
  free(pus);
  topology_plan_free(p);
  return SPOOL_ENOMEM;
}

int topology_plan_make(topology_plan *p, unsigned workers, spool_bind bind) {
  memset(p, 0, sizeof *p);
  hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
  if (!allowed) return SPOOL_ENOMEM;
  hwloc_topology_t topo = topology_load(allowed);
  if (workers == 0 && !topo) workers = topology_default_workers();
  int rc = topology_plan_compute(p, topo, topo ? allowed : NULL, workers, bind);
  /* A topology that is not this machine's (HWLOC_SYNTHETIC, HWLOC_XMLFILE)
     still decides the worker count, the queues and the victim order, but
     its CPU numbers mean nothing here: bind nothing. */
  if (rc == SPOOL_OK && topo && !hwloc_topology_is_thissystem(topo)) {
    free(p->cpus);
    p->cpus = NULL;
    p->cpu_node_len = 0;
    free(p->cpu_node);
    p->cpu_node = NULL;
  }
  topology_unload(topo);
  hwloc_bitmap_free(allowed);
  return rc;
}

void topology_bind_self(const cpu_set_t *cpus) {
  /* Best effort: a CPU that went away since the plan leaves the thread
     unbound rather than failing the executor. */
  if (cpus) pthread_setaffinity_np(pthread_self(), sizeof *cpus, cpus);
}

unsigned topology_current_node(const spool_executor *ex) {
  if (ex->ninjectors < 2) return 0;
  int cpu = sched_getcpu();
  if (cpu < 0 || (unsigned)cpu >= ex->cpu_node_len) return 0;
  return ex->cpu_node[cpu];
}
