/* An overflow under nested waits that could not park names its cause.
 *
 * At the max_fibers cap a wait runs other work nested on its own stack;
 * with three quarters of that stack used it parks the stack on a fiber
 * taken beyond the cap (tests/suspend/cap_depth.c). When mapping that
 * fiber fails, the waits go on nested and the stack overflows. The
 * overflow message used to say only "raise fiber_stack_size", which merely
 * postpones the overflow; it must name the failed mapping and its fixes.
 *
 * In a forked child: one worker, max_fibers = 1, 64 KiB stacks; every mmap
 * the library makes is refused (inject.h) before TASKS tasks are
 * submitted, each yielding on one created future that nobody completes
 * until all have started. The nested waits fill the stack, no stack can be
 * mapped, and the child must die of SIGABRT after one line from spool that
 * names the cause (the failed mapping, vm.max_map_count) and the stack size.
 * Had the waits all parked (the refusal not reaching the library), the
 * child would finish normally and the test fails.
 *
 * Not under AddressSanitizer or ThreadSanitizer, which own SIGSEGV (as in
 * tests/suspend/overflow.c). */
#include "harness.h"
#include "inject.h"

#define TASKS 20000

#if defined(HARNESS_ASAN) || defined(HARNESS_TSAN)
int main(void) {
  printf("skipped: the sanitizer owns SIGSEGV\n");
  return HARNESS_SKIP;
}
#else

static spool_future *gate;
/* relaxed: a count main polls; no data is published through it. */
static _Atomic int started;

static int wait_on_gate(void *arg, void **result) {
  (void)arg;
  (void)result;
  atomic_fetch_add_explicit(&started, 1, memory_order_relaxed);
  return spool_future_yield_until_done(gate);
}

static void child_nested_waits_without_mappings(void) {
  spool_config c;
  spool_config_init(&c);
  c.workers = 1;
  c.max_fibers = 1;
  c.fiber_stack_size = 64 << 10;
  spool_executor *ex = NULL;
  if (spool_executor_create(&ex, &c) != SPOOL_OK) _exit(2);
  /* Creating an executor allocates and maps: none counted means the
     library's calls do not reach inject.c in this build (seen in the
     AArch64 cross build, whose objcopy rename has no effect), so nothing
     could be refused. */
  if (fault_calls() == 0) _exit(HARNESS_SKIP);
  if (spool_future_create(&gate) != SPOOL_OK) _exit(2);
  /* Before the submits, whose publication the worker acquires. */
  fault_refuse_mappings(true);
  for (int i = 0; i < TASKS; i++)
    if (spool_submit(ex, wait_on_gate, NULL, NULL) != SPOOL_OK) _exit(3);
  /* Not reached when the overflow aborts, as it must. */
  HARNESS_UNTIL(atomic_load_explicit(&started, memory_order_relaxed) == TASKS, 30);
  spool_future_set_result(gate, NULL);
  spool_join(ex, SPOOL_FOREVER);
  _exit(0);
}

int main(void) {
  harness_phase("nested waits that cannot park overflow with their cause named");
  child_outcome out;
  if (harness_run_child(child_nested_waits_without_mappings, &out)) {
    if (WIFEXITED(out.status) && WEXITSTATUS(out.status) == HARNESS_SKIP) {
      printf("skipped: the library's calls are not routed to the fault injector in this build\n");
      return HARNESS_SKIP;
    }
    if (CHECK(WIFSIGNALED(out.status) && WTERMSIG(out.status) == SIGABRT)) {
      char *line = strstr(out.err, "spool: ");
      char *nl = line ? strchr(line, '\n') : NULL;
      if (CHECK(line != NULL && nl != NULL)) {
        *nl = '\0';
        CHECK(strstr(line, "overflowed") != NULL);
        CHECK(strstr(line, "65536") != NULL);
        CHECK(strstr(line, "could not park") != NULL);
        CHECK(strstr(line, "vm.max_map_count") != NULL);
        *nl = '\n';
      }
    }
    if (harness_failures()) fprintf(stderr, "child status %#x, stderr:\n%s\n", out.status, out.err);
  }
  return harness_report();
}
#endif
