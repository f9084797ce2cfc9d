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
