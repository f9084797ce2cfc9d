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
  /* The process's binding (taskset, sched_setaffinity, cgroup cpusets),
     intersected with what the topology allows. */
  if (hwloc_get_cpubind(topo, allowed, HWLOC_CPUBIND_PROCESS) != 0)
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
  return n < 1 ? affinity_count() : (unsigned)n;
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

static int node_of_pu(hwloc_topology_t topo, hwloc_obj_t pu) {
  hwloc_obj_t node = NULL;
  int i = 0;
  while ((node = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, node))) {
    if (hwloc_bitmap_intersects(node->cpuset, pu->cpuset)) return i;
    i++;
  }
  return 0;
}

void topology_plan_free(topology_plan *p) {
  free(p->cpus);
  free(p->node);
  free(p->cpu_node);
  memset(p, 0, sizeof *p);
}

int topology_plan_make(topology_plan *p, unsigned workers, spool_bind bind) {
  memset(p, 0, sizeof *p);
  hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
  if (!allowed) return SPOOL_ENOMEM;
  hwloc_topology_t topo = topology_load(allowed);
  int npu = topo ? hwloc_bitmap_weight(allowed) : 0;
  /* not topology_default_workers(): topology_lock is held */
  if (workers == 0) workers = npu > 0 ? (unsigned)npu : affinity_count();
  p->workers = workers;
  p->spare_cpus = npu > 0 && (unsigned)npu > workers;
  p->node = calloc(workers, sizeof *p->node);
  hwloc_obj_t *pus = npu > 0 ? calloc((size_t)npu, sizeof *pus) : NULL;
  int nnodes = topo ? hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE) : 0;
  if (nnodes < 1) nnodes = 1;
  int *injector_of_node = calloc((size_t)nnodes, sizeof *injector_of_node);
  if (!p->node || (npu > 0 && !pus) || !injector_of_node) goto nomem;
  unsigned n = pus ? pu_order(topo, allowed, pus, (unsigned)npu) : 0;

  if (bind != SPOOL_BIND_NONE && n > 0) {
    p->cpus = calloc(workers, sizeof *p->cpus);
    if (!p->cpus) goto nomem;
  }
  /* Worker i's PU: CORE fills cores in order; SPREAD strides across the
     ordered PUs (and so across nodes and caches); NUMA groups by node. */
  for (int k = 0; k < nnodes; k++)
    injector_of_node[k] = -1;
  p->nodes = 0;
  for (unsigned i = 0; i < workers; i++) {
    hwloc_obj_t pu = NULL;
    if (n > 0) {
      unsigned idx =
          bind == SPOOL_BIND_SPREAD && workers < n ? (unsigned)((uint64_t)i * n / workers) : i % n;
      pu = pus[idx];
    }
    int node = pu ? node_of_pu(topo, pu) : 0;
    if (injector_of_node[node] < 0) injector_of_node[node] = (int)p->nodes++;
    p->node[i] = (unsigned)injector_of_node[node];
    if (!p->cpus) continue;
    if (bind == SPOOL_BIND_NUMA) {
      hwloc_obj_t obj = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)node);
      hwloc_bitmap_t set = hwloc_bitmap_dup(obj ? obj->cpuset : pu->cpuset);
      if (!set) goto nomem;
      hwloc_bitmap_and(set, set, allowed);
      cpuset_from_bitmap(&p->cpus[i], set);
      hwloc_bitmap_free(set);
    } else {
      cpuset_from_bitmap(&p->cpus[i], pu->cpuset);
    }
  }
  if (p->nodes == 0) p->nodes = 1;

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
  free(injector_of_node);
  free(pus);
  topology_unload(topo);
  hwloc_bitmap_free(allowed);
  return SPOOL_OK;

nomem:
  free(injector_of_node);
  free(pus);
  topology_unload(topo);
  hwloc_bitmap_free(allowed);
  topology_plan_free(p);
  return SPOOL_ENOMEM;
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
