/* Tracing's configuration: SPOOL_TRACE and spool_config.trace_path. The
 * file's contents are checked by tests/trace/check.py. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suite.h"

SPOOL_SUITE(trace);

Test(trace, off_by_default) {
  spool_config c;
  spool_config_init(&c);
  cr_assert_null(c.trace_path);
  cr_assert_null(c.env_error);
}

Test(trace, taken_from_the_environment) {
  setenv("SPOOL_TRACE", "/tmp/somewhere.json", 1);
  spool_config c;
  spool_config_init(&c);
  cr_assert_str_eq(c.trace_path, "/tmp/somewhere.json");
  cr_assert_null(c.env_error);
}

Test(trace, empty_variable_is_malformed) {
  setenv("SPOOL_TRACE", "", 1);
  spool_config c;
  spool_config_init(&c);
  cr_assert_str_eq(c.env_error, "SPOOL_TRACE");
  spool_executor *ex = (spool_executor *)&c;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_EINVAL);
  cr_assert_null(ex);
}

Test(trace, empty_path_in_the_config_is_invalid) {
  spool_config c;
  spool_config_init(&c);
  c.trace_path = "";
  spool_executor *ex;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_EINVAL);
}

Test(trace, unwritable_path_fails_creation) {
  spool_config c;
  spool_config_init(&c);
  c.trace_path = "/nonexistent-directory/trace.json";
  spool_executor *ex = (spool_executor *)&c;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_EINVAL);
  cr_assert_null(ex);
}

Test(trace, written_at_destroy_not_before) {
  char path[] = "/tmp/spool-trace-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  spool_config c;
  spool_config_init(&c);
  c.workers = 2;
  c.trace_path = path;
  spool_executor *ex;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_size, 0, "truncated at creation, written at destroy");
  spool_executor_destroy(ex);
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_gt(st.st_size, 0);
  FILE *f = fopen(path, "r");
  char head[32] = {0};
  cr_assert_not_null(f);
  cr_assert_gt(fread(head, 1, sizeof head - 1, f), 0u);
  fclose(f);
  cr_assert_eq(strncmp(head, "{\"traceEvents\":[", 16), 0, "%s", head);
  unlink(path);
}

static int failing_initializer(void *arg) {
  (void)arg;
  return 1;
}

/* A creation that fails after opening its trace removes the file and gives
   its claim on the path back: the next executor writes the path itself,
   not path.2. */
Test(trace, failed_creation_leaves_the_path_to_the_next) {
  char path[] = "/tmp/spool-trace-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  char second[sizeof path + 2];
  snprintf(second, sizeof second, "%s.2", path);
  spool_config c;
  spool_config_init(&c);
  c.workers = 2;
  c.trace_path = path;
  c.initializer = failing_initializer;
  spool_executor *ex = NULL;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_EBROKEN);
  struct stat st;
  cr_assert_neq(stat(path, &st), 0, "the failed creation's file is removed");
  c.initializer = NULL;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  spool_executor_destroy(ex);
  cr_assert_eq(stat(path, &st), 0, "written at the path given");
  cr_assert_gt(st.st_size, 0);
  cr_assert_neq(stat(second, &st), 0, "%s must not exist", second);
  /* A second executor on the same path still gets path.2. */
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  spool_executor_destroy(ex);
  cr_assert_eq(stat(second, &st), 0, "the next executor writes %s", second);
  unlink(path);
  unlink(second);
}
