/* What the semantics suites used to do in a forked child, as a program of
 * its own that they start with posix_spawn (tests/common/child_spawn.h): a child
 * forked from a multi-threaded process, which then starts threads, is not
 * reliable under the sanitizers (their allocators can be left locked by a
 * thread that does not exist in the child), so those tests were skipped
 * there. A fresh program is reliable everywhere.
 *
 *   child_helper one-cpu CPU   restricts itself to CPU, creates an executor
 *                              with the defaults; exits with its worker
 *                              count (at most 99), or 100+ on an error
 *   child_helper destroy-own   destroys an executor from one of its own
 *                              tasks (misuse: must abort with one line on
 *                              stderr); exits 3 or 4 if it does not
 *   child_helper destroy-group-member
 *                              destroys a task group from one of its own
 *                              members (misuse: must abort with one line on
 *                              stderr); exits 3 or 4 if it does not
 *   child_helper destroy-group-twice
 *                              destroys a task group twice (misuse: must
 *                              abort with one line on stderr); exits 3 or
 *                              4 if it does not
 *
 * Each run is bounded by alarm(30). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

static int one_cpu(const char *arg) {
  char *end;
  long cpu = strtol(arg, &end, 10);
  if (*arg == '\0' || *end || cpu < 0 || cpu >= CPU_SETSIZE) return 102;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET((int)cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0) return 100;
  spool_executor *ex = NULL;
  if (spool_executor_create(&ex, NULL) != SPOOL_OK) return 101;
  unsigned n = spool_executor_workers(ex);
  spool_executor_destroy(ex);
  return n > 99 ? 99 : (int)n;
}

static int destroy_own_executor(void *arg, void **result) {
  (void)result;
  spool_executor_destroy(arg);
  return 0;
}

static int destroy_own(void) {
  spool_config c;
  spool_config_init(&c);
  c.workers = 1;
  spool_executor *ex = NULL;
  spool_future *f = NULL;
  if (spool_executor_create(&ex, &c) != SPOOL_OK ||
      spool_submit(ex, destroy_own_executor, ex, &f) != SPOOL_OK)
    return 3;
  spool_future_result(f, 10.0, NULL);
  return 4; /* not reached when the misuse is caught */
}

static int destroy_own_group(void *arg, void **result) {
  (void)result;
  spool_group_destroy(arg);
  return 0;
}

static int destroy_group_member(void) {
  spool_config c;
  spool_config_init(&c);
  c.workers = 1;
  spool_executor *ex = NULL;
  spool_group *g = NULL;
  spool_future *f = NULL;
  if (spool_executor_create(&ex, &c) != SPOOL_OK || spool_group_create(ex, &g) != SPOOL_OK ||
      spool_group_submit(g, destroy_own_group, g, &f) != SPOOL_OK)
    return 3;
  spool_future_result(f, 10.0, NULL);
  return 4; /* not reached when the misuse is caught */
}

static int destroy_group_twice(void) {
  spool_executor *ex = NULL;
  spool_group *g = NULL;
  if (spool_executor_create(&ex, NULL) != SPOOL_OK || spool_group_create(ex, &g) != SPOOL_OK)
    return 3;
  spool_group_destroy(g);
  spool_group_destroy(g);
  return 4; /* not reached when the misuse is caught */
}

int main(int argc, char **argv) {
  alarm(30); /* a stuck child must not hang the suite */
  if (argc == 3 && !strcmp(argv[1], "one-cpu")) return one_cpu(argv[2]);
  if (argc == 2 && !strcmp(argv[1], "destroy-own")) return destroy_own();
  if (argc == 2 && !strcmp(argv[1], "destroy-group-member")) return destroy_group_member();
  if (argc == 2 && !strcmp(argv[1], "destroy-group-twice")) return destroy_group_twice();
  fprintf(stderr,
          "usage: %s one-cpu CPU | destroy-own | destroy-group-member | "
          "destroy-group-twice\n",
          argv[0]);
  return 2;
}
