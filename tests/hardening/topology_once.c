/* hwloc's topology is loaded once per process, not per executor (issue 9:
 * hwloc 2.9 can crash when memory runs out while it loads, so the window is
 * kept small), and again only when HWLOC_SYNTHETIC or HWLOC_XMLFILE, which
 * hwloc reads at load time, changed.
 *
 * The library's calls of hwloc_topology_load are counted (ld --wrap,
 * meson.build). Checks: several executors (created one after another and
 * from several threads at once) cost one load; setting HWLOC_SYNTHETIC
 * costs one more and applies (16 workers for the DESIGN.md example);
 * creating again with the same value costs none; unsetting it costs one and
 * gives the machine's count back. */
#include "harness.h"

struct hwloc_topology;
int __real_hwloc_topology_load(struct hwloc_topology *t);

static atomic_uint loads;

int __wrap_hwloc_topology_load(struct hwloc_topology *t) {
  atomic_fetch_add(&loads, 1);
  return __real_hwloc_topology_load(t);
}

static unsigned default_workers(void) {
  spool_executor *ex = NULL;
  if (!CHECK_EQ(spool_executor_create(&ex, NULL), SPOOL_OK)) return 0;
  unsigned n = spool_executor_workers(ex);
  spool_executor_destroy(ex);
  return n;
}

static void *create_some(void *arg) {
  (void)arg;
  for (int i = 0; i < 5; i++)
    default_workers();
  return NULL;
}

int main(void) {
  unsetenv("HWLOC_SYNTHETIC");
  unsetenv("HWLOC_XMLFILE");
  harness_phase("executors one after another and at once: one load");
  unsigned machine = default_workers();
  CHECK(machine >= 1);
  for (int i = 0; i < 5; i++)
    CHECK_EQ(default_workers(), machine);
  pthread_t t[3];
  for (int i = 0; i < 3; i++)
    CHECK(pthread_create(&t[i], NULL, create_some, NULL) == 0);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  CHECK_EQ(atomic_load(&loads), 1);

  harness_phase("HWLOC_SYNTHETIC is read at load time: a new value loads again");
  setenv("HWLOC_SYNTHETIC", "pack:2 numa:1 l3:1 core:4 pu:2", 1);
  CHECK_EQ(default_workers(), 16);
  CHECK_EQ(default_workers(), 16);
  CHECK_EQ(atomic_load(&loads), 2);
  unsetenv("HWLOC_SYNTHETIC");
  CHECK_EQ(default_workers(), machine);
  CHECK_EQ(atomic_load(&loads), 3);
  harness_watchdog_off();
  return harness_report();
}
