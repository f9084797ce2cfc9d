/* The placement plan (runtime/topology.c) on synthetic topologies: where
 * each worker lands in each spool_bind mode, its victim order (every other
 * worker exactly once, nearest first), one injection queue per node with
 * workers, and where outside submissions go. Then HWLOC_SYNTHETIC through
 * the environment, applied to an executor. */
#include <hwloc.h>
#include <internal.h>
#include <string.h>

#include "suite.h"

SPOOL_SUITE(topology);

typedef struct synth {
  hwloc_topology_t topo;
  hwloc_bitmap_t allowed;
} synth;

static synth synth_load(const char *description) {
  synth s;
  cr_assert_eq(hwloc_topology_init(&s.topo), 0);
  cr_assert_eq(hwloc_topology_set_synthetic(s.topo, description), 0, "%s", description);
  cr_assert_eq(hwloc_topology_load(s.topo), 0);
  s.allowed = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(s.topo));
  return s;
}

static void synth_free(synth *s) {
  hwloc_bitmap_free(s->allowed);
  hwloc_topology_destroy(s->topo);
}

static hwloc_obj_t pu_obj(synth *s, int os) {
  hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(s->topo, (unsigned)os);
  cr_assert_not_null(pu, "PU %d", os);
  return pu;
}

static int ancestor_index(synth *s, int os, hwloc_obj_type_t type) {
  hwloc_obj_t a = hwloc_get_ancestor_obj_by_type(s->topo, type, pu_obj(s, os));
  return a ? (int)a->logical_index : -1;
}

static int numa_of(synth *s, int os) {
  hwloc_obj_t node = NULL;
  int i = 0;
  while ((node = hwloc_get_next_obj_by_type(s->topo, HWLOC_OBJ_NUMANODE, node))) {
    if (hwloc_bitmap_isset(node->cpuset, (unsigned)os)) return i;
    i++;
  }
  return -1;
}

/* The level at which worker v should sit in worker w's order, from the
   plan's PUs: 0 same core, 1 same L3, 2 same node, 3 another node. */
static int expected_level(synth *s, const topology_plan *p, spool_bind bind, unsigned w,
                          unsigned v) {
  int a = p->pu[w], b = p->pu[v];
  if (numa_of(s, a) != numa_of(s, b)) return 3;
  if (bind == SPOOL_BIND_NUMA) return 2;
  if (ancestor_index(s, a, HWLOC_OBJ_CORE) == ancestor_index(s, b, HWLOC_OBJ_CORE)) return 0;
  if (ancestor_index(s, a, HWLOC_OBJ_L3CACHE) == ancestor_index(s, b, HWLOC_OBJ_L3CACHE)) return 1;
  return 2;
}

/* Every check that holds for any topology, mode and worker count. */
static void check_plan(synth *s, const topology_plan *p, spool_bind bind, unsigned workers) {
  cr_assert_eq(p->workers, workers);
  int npu = hwloc_bitmap_weight(s->allowed);
  /* Each worker sits on an allowed PU; one queue per node with workers. */
  int queue_of_numa[64];
  for (int k = 0; k < 64; k++)
    queue_of_numa[k] = -1;
  unsigned queues = 0;
  for (unsigned i = 0; i < workers; i++) {
    cr_assert(hwloc_bitmap_isset(s->allowed, (unsigned)p->pu[i]), "worker %u on PU %d", i,
              p->pu[i]);
    int numa = numa_of(s, p->pu[i]);
    cr_assert_geq(numa, 0);
    if (queue_of_numa[numa] < 0) queue_of_numa[numa] = (int)queues++;
    cr_assert_eq(p->node[i], (unsigned)queue_of_numa[numa], "worker %u", i);
  }
  cr_assert_eq(p->nodes, queues);
  /* Binding. */
  if (bind == SPOOL_BIND_NONE) {
    cr_assert_null(p->cpus);
  } else {
    cr_assert_not_null(p->cpus);
    for (unsigned i = 0; i < workers; i++) {
      if (bind == SPOOL_BIND_NUMA) {
        hwloc_obj_t node = NULL;
        for (int k = 0; (node = hwloc_get_next_obj_by_type(s->topo, HWLOC_OBJ_NUMANODE, node)); k++)
          if (k == numa_of(s, p->pu[i])) break;
        cr_assert_not_null(node);
        for (unsigned cpu = 0; cpu < 256; cpu++) {
          bool want = hwloc_bitmap_isset(node->cpuset, cpu) && hwloc_bitmap_isset(s->allowed, cpu);
          cr_assert_eq(CPU_ISSET(cpu, &p->cpus[i]) != 0, want, "worker %u cpu %u", i, cpu);
        }
      } else {
        cr_assert_eq(CPU_COUNT(&p->cpus[i]), 1, "worker %u", i);
        cr_assert(CPU_ISSET(p->pu[i], &p->cpus[i]));
      }
    }
  }
  /* Mode-specific placement. */
  if (bind == SPOOL_BIND_CORE || bind == SPOOL_BIND_SPREAD) {
    /* Distinct cores before a second PU of any core. */
    int ncores = 0;
    hwloc_obj_t core = NULL;
    while ((core = hwloc_get_next_obj_by_type(s->topo, HWLOC_OBJ_CORE, core)))
      if (hwloc_bitmap_intersects(core->cpuset, s->allowed)) ncores++;
    unsigned distinct = workers < (unsigned)ncores ? workers : (unsigned)ncores;
    for (unsigned i = 0; i < distinct; i++)
      for (unsigned j = 0; j < i; j++)
        cr_assert_neq(ancestor_index(s, p->pu[i], HWLOC_OBJ_CORE),
                      ancestor_index(s, p->pu[j], HWLOC_OBJ_CORE), "workers %u and %u", i, j);
  }
  if (bind == SPOOL_BIND_NUMA || bind == SPOOL_BIND_SPREAD) {
    /* Workers spread evenly over the nodes that have allowed PUs. */
    unsigned count[64] = {0};
    int nodes_allowed = 0;
    hwloc_obj_t node = NULL;
    for (int k = 0; (node = hwloc_get_next_obj_by_type(s->topo, HWLOC_OBJ_NUMANODE, node)); k++)
      if (hwloc_bitmap_intersects(node->cpuset, s->allowed)) nodes_allowed++;
    for (unsigned i = 0; i < workers; i++)
      count[numa_of(s, p->pu[i])]++;
    unsigned lo = workers, hi = 0;
    for (int k = 0; k < 64; k++) {
      node = hwloc_get_obj_by_type(s->topo, HWLOC_OBJ_NUMANODE, (unsigned)k);
      if (!node || !hwloc_bitmap_intersects(node->cpuset, s->allowed)) continue;
      if (count[k] < lo) lo = count[k];
      if (count[k] > hi) hi = count[k];
    }
    if (bind == SPOOL_BIND_NUMA || workers <= (unsigned)npu)
      cr_assert_leq(hi - lo, 1u, "uneven spread over %d nodes", nodes_allowed);
  }
  /* Victim order: every other worker exactly once, levels nearest first. */
  unsigned *seen = calloc(workers, sizeof *seen);
  for (unsigned w = 0; w < workers; w++) {
    memset(seen, 0, workers * sizeof *seen);
    int last_expected = 0;
    plan_range seg[VICTIM_MAX_SEGMENTS];
    int nseg;
    unsigned total = 0;
    for (unsigned level = 0;
         (nseg = victim_level(&p->victims, w, level, seg, VICTIM_MAX_SEGMENTS)) >= 0; level++) {
      unsigned n = victim_count(seg, nseg);
      for (unsigned k = 0; k < n; k++) {
        unsigned v = victim_member(&p->victims, seg, nseg, k);
        cr_assert_lt(v, workers);
        cr_assert_neq(v, w, "worker %u is its own victim", w);
        seen[v]++;
        total++;
        if (bind == SPOOL_BIND_NONE) continue;
        int want = expected_level(s, p, bind, w, v);
        int got = level < VICTIM_LEVEL_REMOTE ? (int)level : 3;
        cr_assert_eq(got, want, "worker %u (PU %d): victim %u (PU %d) at level %u, expected %d", w,
                     p->pu[w], v, p->pu[v], level, want);
        cr_assert_geq(want, last_expected);
        last_expected = want;
      }
    }
    cr_assert_eq(total, workers - 1, "worker %u", w);
    for (unsigned v = 0; v < workers; v++)
      cr_assert_eq(seen[v], v == w ? 0u : 1u, "worker %u sees %u %u times", w, v, seen[v]);
  }
  free(seen);
  /* Outside submissions: a CPU goes to its node's queue when that node has
     workers, else to queue 0. */
  hwloc_obj_t pu = NULL;
  while ((pu = hwloc_get_next_obj_by_type(s->topo, HWLOC_OBJ_PU, pu))) {
    cr_assert_lt(pu->os_index, p->cpu_node_len);
    int q = queue_of_numa[numa_of(s, (int)pu->os_index)];
    cr_assert_eq(p->cpu_node[pu->os_index], q < 0 ? 0u : (unsigned)q, "CPU %u", pu->os_index);
  }
}

static void check_all_modes(synth *s, const unsigned *counts, int ncounts) {
  const spool_bind modes[] = {SPOOL_BIND_NONE, SPOOL_BIND_CORE, SPOOL_BIND_SPREAD, SPOOL_BIND_NUMA};
  for (int m = 0; m < 4; m++)
    for (int c = 0; c < ncounts; c++) {
      topology_plan p;
      cr_assert_eq(topology_plan_compute(&p, s->topo, s->allowed, counts[c], modes[m]), SPOOL_OK);
      check_plan(s, &p, modes[m],
                 counts[c] ? counts[c] : (unsigned)hwloc_bitmap_weight(s->allowed));
      topology_plan_free(&p);
    }
}

Test(topology, two_packages_two_nodes_each) {
  synth s = synth_load("pack:2 numa:2 l3:1 core:4 pu:2");
  const unsigned counts[] = {0, 1, 2, 5, 16, 48};
  check_all_modes(&s, counts, 6);
  /* Remote nodes nearest first: the other node of the same package comes
     one level before the nodes of the other package. */
  topology_plan p;
  cr_assert_eq(topology_plan_compute(&p, s.topo, s.allowed, 0, SPOOL_BIND_CORE), SPOOL_OK);
  cr_assert_eq(p.workers, 32u);
  cr_assert_eq(p.nodes, 4u);
  plan_range seg[VICTIM_MAX_SEGMENTS];
  unsigned w = 0;
  int pkg = ancestor_index(&s, p.pu[w], HWLOC_OBJ_PACKAGE);
  int n = victim_level(&p.victims, w, VICTIM_LEVEL_REMOTE, seg, VICTIM_MAX_SEGMENTS);
  cr_assert_gt(n, 0);
  cr_assert_eq(victim_count(seg, n), 8u);
  for (unsigned k = 0; k < 8; k++)
    cr_assert_eq(ancestor_index(&s, p.pu[victim_member(&p.victims, seg, n, k)], HWLOC_OBJ_PACKAGE),
                 pkg);
  n = victim_level(&p.victims, w, VICTIM_LEVEL_REMOTE + 1, seg, VICTIM_MAX_SEGMENTS);
  cr_assert_gt(n, 0);
  cr_assert_eq(victim_count(seg, n), 16u);
  for (unsigned k = 0; k < 16; k++)
    cr_assert_neq(ancestor_index(&s, p.pu[victim_member(&p.victims, seg, n, k)], HWLOC_OBJ_PACKAGE),
                  pkg);
  cr_assert_lt(victim_level(&p.victims, w, VICTIM_LEVEL_REMOTE + 2, seg, VICTIM_MAX_SEGMENTS), 0);
  /* The header's example: 4 workers in each mode. */
  const spool_bind modes[] = {SPOOL_BIND_CORE, SPOOL_BIND_SPREAD, SPOOL_BIND_NUMA};
  const int want_core[] = {0, 1, 2, 3};
  const int want_node[3][4] = {{0, 0, 0, 0}, {0, 2, 1, 3}, {0, 1, 2, 3}};
  topology_plan_free(&p);
  for (int m = 0; m < 3; m++) {
    cr_assert_eq(topology_plan_compute(&p, s.topo, s.allowed, 4, modes[m]), SPOOL_OK);
    for (unsigned i = 0; i < 4; i++) {
      cr_assert_eq(numa_of(&s, p.pu[i]), want_node[m][i], "mode %d worker %u", m, i);
      if (modes[m] == SPOOL_BIND_CORE)
        cr_assert_eq(ancestor_index(&s, p.pu[i], HWLOC_OBJ_CORE), want_core[i]);
      if (modes[m] == SPOOL_BIND_NUMA) cr_assert_eq(CPU_COUNT(&p.cpus[i]), 8);
    }
    topology_plan_free(&p);
  }
  cr_assert_eq(topology_plan_compute(&p, s.topo, s.allowed, 4, SPOOL_BIND_CORE), SPOOL_OK);
  /* Two SPREAD workers land on different packages. */
  topology_plan_free(&p);
  cr_assert_eq(topology_plan_compute(&p, s.topo, s.allowed, 2, SPOOL_BIND_SPREAD), SPOOL_OK);
  cr_assert_neq(ancestor_index(&s, p.pu[0], HWLOC_OBJ_PACKAGE),
                ancestor_index(&s, p.pu[1], HWLOC_OBJ_PACKAGE));
  topology_plan_free(&p);
  synth_free(&s);
}

Test(topology, four_nodes_without_smt) {
  synth s = synth_load("numa:4 core:8 pu:1");
  const unsigned counts[] = {0, 3, 4, 7, 33};
  check_all_modes(&s, counts, 5);
  topology_plan p;
  cr_assert_eq(topology_plan_compute(&p, s.topo, s.allowed, 0, SPOOL_BIND_NUMA), SPOOL_OK);
  cr_assert_eq(p.nodes, 4u);
  for (unsigned i = 0; i < 32; i++)
    cr_assert_eq(p.node[i], i / 8, "NUMA binding fills nodes in blocks");
  topology_plan_free(&p);
  synth_free(&s);
}

Test(topology, single_node) {
  synth s = synth_load("l3:1 core:4 pu:2");
  const unsigned counts[] = {0, 1, 4, 9};
  check_all_modes(&s, counts, 4);
  topology_plan p;
  cr_assert_eq(topology_plan_compute(&p, s.topo, s.allowed, 0, SPOOL_BIND_CORE), SPOOL_OK);
  cr_assert_eq(p.nodes, 1u);
  plan_range seg[VICTIM_MAX_SEGMENTS];
  cr_assert_lt(victim_level(&p.victims, 0, VICTIM_LEVEL_REMOTE, seg, VICTIM_MAX_SEGMENTS), 0,
               "no remote level on one node");
  topology_plan_free(&p);
  synth_free(&s);
}

/* As taskset / cgroups / numactl --cpunodebind restrict the process. */
Test(topology, restricted_to_part_of_the_machine) {
  synth s = synth_load("pack:2 numa:2 l3:1 core:4 pu:2");
  /* numactl --cpunodebind=1: only the second node's PUs. */
  hwloc_obj_t node1 = hwloc_get_obj_by_type(s.topo, HWLOC_OBJ_NUMANODE, 1);
  cr_assert_not_null(node1);
  hwloc_bitmap_copy(s.allowed, node1->cpuset);
  const unsigned counts[] = {0, 3, 8, 12};
  check_all_modes(&s, counts, 4);
  topology_plan p;
  cr_assert_eq(topology_plan_compute(&p, s.topo, s.allowed, 0, SPOOL_BIND_SPREAD), SPOOL_OK);
  cr_assert_eq(p.workers, 8u, "one worker per allowed hardware thread");
  cr_assert_eq(p.nodes, 1u);
  cr_assert(!p.spare_cpus);
  topology_plan_free(&p);
  /* taskset -c 0-2,9: parts of two nodes. */
  hwloc_bitmap_zero(s.allowed);
  hwloc_bitmap_set_range(s.allowed, 0, 2);
  hwloc_bitmap_set(s.allowed, 9);
  const unsigned counts2[] = {0, 2, 6};
  check_all_modes(&s, counts2, 3);
  cr_assert_eq(topology_plan_compute(&p, s.topo, s.allowed, 2, SPOOL_BIND_CORE), SPOOL_OK);
  cr_assert(p.spare_cpus);
  topology_plan_free(&p);
  synth_free(&s);
}

static int record_cpu_count(void *arg, void **result) {
  (void)result;
  cpu_set_t set;
  *(int *)arg = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
  return 0;
}

/* DESIGN.md, Topology: HWLOC_SYNTHETIC decides the default worker count and
   no binding is attempted on a topology that is not this system's. */
Test(topology, hwloc_synthetic_applies_to_an_executor) {
  cpu_set_t mine;
  cr_assert_eq(sched_getaffinity(0, sizeof mine, &mine), 0);
  setenv("HWLOC_SYNTHETIC", "pack:2 numa:1 l3:1 core:4 pu:2", 1);
  spool_config c;
  spool_config_init(&c);
  c.bind = SPOOL_BIND_CORE;
  spool_executor *ex;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  cr_assert_eq(spool_executor_workers(ex), 16u);
  cr_assert_eq(ex->ninjectors, 2u, "one injection queue per node");
  for (unsigned i = 0; i < 16; i++)
    cr_assert(!ex->workers[i].bound, "worker %u bound on a synthetic topology", i);
  int seen = 0;
  cr_assert_eq(spool_run(ex, record_cpu_count, &seen, NULL), SPOOL_OK);
  cr_assert_eq(seen, CPU_COUNT(&mine), "a worker's affinity was changed");
  spool_executor_destroy(ex);
  unsetenv("HWLOC_SYNTHETIC");
}
