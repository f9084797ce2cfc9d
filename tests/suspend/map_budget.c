/* The default max_fibers fits the process's mapping budget in this build.
 *
 * spool.h promises that the default cap leaves a quarter of
 * vm.max_map_count (at least 4096) to the program: the cap times the
 * mappings a parked task costs stays within the rest. That cost depends on
 * the build: 2 (the stack and the guard below it), but 6 under ThreadSanitizer,
 * which maps regions of its own per fiber. With the divisor 2 there, TSan
 * failed to mmap (and aborted the program) once some 10,000 tasks were
 * parked, far below the cap of 24574.
 *
 * Measures the mappings per parked task (512 tasks, or the cap if lower,
 * parked on one worker,
 * /proc/self/maps before and after) and checks cap x cost against the
 * budget. Then parks the whole default cap at once, when it is at most
 * 30,000 (a raised map count gives up to 2^20) and the build is not run
 * under an emulator or valgrind: every task must park (none nests), and
 * the program must still be able to map a page. Skipped (77) where
 * /proc/sys/vm/max_map_count cannot be read. */
#include "harness.h"

#include <sys/mman.h>

#define SAMPLE_TASKS  512
#define FULL_PARK_MAX 30000u

static spool_future *gate;

static int park_on_gate(void *arg, void **result) {
  (void)arg;
  (void)result;
  return spool_future_yield_until_done(gate);
}

static long count_lines(const char *path) {
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  long n = 0;
  for (int c; (c = fgetc(f)) != EOF;)
    n += c == '\n';
  fclose(f);
  return n;
}

static long long read_max_map_count(void) {
  FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
  if (!f) return -1;
  long long v = -1;
  if (fscanf(f, "%lld", &v) != 1) v = -1;
  fclose(f);
  return v;
}

/* Submits n tasks that park on the gate and waits until `suspends` says
   they all parked (the executor's earlier suspends are `base`). */
static bool park(spool_executor *ex, spool_future **futures, unsigned n, uint64_t base) {
  for (unsigned i = 0; i < n; i++)
    futures[i] = harness_submit(ex, park_on_gate, NULL);
  return HARNESS_UNTIL(harness_suspends(ex) - base >= n, 600);
}

int main(void) {
  long long map_count = read_max_map_count();
  long maps_before = count_lines("/proc/self/maps");
  if (map_count <= 0 || maps_before < 0) {
    printf("no /proc/sys/vm/max_map_count or /proc/self/maps: skipped\n");
    return HARNESS_SKIP;
  }
  harness_phase_limited("measure", 600);
  spool_config c;
  spool_config_init(&c);
  unsigned cap = c.max_fibers;
  long long reserve = map_count / 4 > 4096 ? map_count / 4 : 4096;
  long long budget = map_count - reserve;

  spool_executor *ex = harness_executor(1);
  gate = harness_created();
  spool_future **futures = calloc(FULL_PARK_MAX, sizeof *futures);
  if (!futures) abort();
  /* Within the cap, so that every one parks (a cap of 64 is possible). */
  unsigned sample = cap < SAMPLE_TASKS ? cap : SAMPLE_TASKS, parked = sample;
  maps_before = count_lines("/proc/self/maps");
  CHECK(park(ex, futures, sample, 0));
  long maps_parked = count_lines("/proc/self/maps");
  double per_task = (double)(maps_parked - maps_before) / sample;
  printf("max_map_count %lld, default max_fibers %u, %.2f mappings per parked task\n", map_count,
         cap, per_task);
  CHECK(per_task >= 1.5); /* at least the stack and its guard: the measure works */
  /* 2 % for the measure's own noise (a neighbouring region merging). */
  CHECK((double)cap * per_task <= (double)budget * 1.02);
  if (cap * per_task > budget * 1.02)
    fprintf(stderr, "the default cap needs %.0f mappings where %lld are left to fibers\n",
            cap * per_task, budget);

  if (cap <= FULL_PARK_MAX && !harness_under_emulator() && !harness_under_valgrind() &&
      harness_failures() == 0) {
    harness_phase_limited("park the whole cap", 1200);
    CHECK(park(ex, futures + sample, cap - sample, sample));
    parked = cap;
    spool_stats s = harness_stats(ex);
    CHECK_EQ(s.suspends - s.resumes, cap);
    CHECK_EQ(s.nested_waits, 0);
    long maps_full = count_lines("/proc/self/maps");
    printf("%u tasks parked: %ld mappings of %lld\n", cap, maps_full, map_count);
    /* The program's quarter is still there: it can map more. */
    CHECK(maps_full >= 0 && maps_full <= map_count - reserve / 2);
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    if (page != MAP_FAILED) munmap(page, 4096);
  }

  harness_phase_limited("unpark", 1200);
  CHECK(spool_future_set_result(gate, NULL) == SPOOL_OK);
  CHECK_EQ(harness_collect_zeros(futures, parked), parked);
  CHECK(spool_join(ex, -1) == SPOOL_OK);
  spool_future_release(gate);
  spool_executor_destroy(ex);
  free(futures);
  harness_watchdog_off();
  return harness_report();
}
