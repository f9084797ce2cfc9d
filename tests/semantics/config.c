/* spool_config_init: the defaults and strict parsing of the SPOOL_*
 * variables; a malformed variable makes spool_executor_create() fail. */
#include <stdio.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "suite.h"

SPOOL_SUITE(config);

/* Initialises a config with `name` set to `value` (the rest unset). */
static spool_config config_with(const char *name, const char *value) {
  suite_clear_env();
  cr_assert_eq(setenv(name, value, 1), 0);
  spool_config c;
  memset(&c, 0xA5, sizeof c); /* config_init must not rely on a zeroed struct */
  spool_config_init(&c);
  return c;
}

static void assert_malformed(const char *name, const char *value) {
  spool_config c = config_with(name, value);
  cr_assert_not_null(c.env_error, "%s=\"%s\" was accepted", name, value);
  cr_assert_str_eq(c.env_error, name, "%s=\"%s\": env_error names %s", name, value, c.env_error);
  spool_executor *ex = (spool_executor *)&c;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_EINVAL, "%s=\"%s\"", name, value);
  cr_assert_null(ex);
  /* create with a NULL config reads the same environment */
  ex = (spool_executor *)&c;
  cr_assert_eq(spool_executor_create(&ex, NULL), SPOOL_EINVAL, "%s=\"%s\", NULL config", name,
               value);
  cr_assert_null(ex);
}

static void assert_accepted(const char *name, const char *value, spool_config *out) {
  *out = config_with(name, value);
  cr_assert_null(out->env_error, "%s=\"%s\" was rejected", name, value);
}

/* spool.h's formula for the default max_fibers, from vm.max_map_count
   (Linux's default 65530 when the file cannot be read). */
static unsigned long long max_map_count(void) {
  unsigned long long n = 65530;
  FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
  if (f) {
    if (fscanf(f, "%llu", &n) != 1) n = 65530;
    fclose(f);
  }
  return n;
}

static unsigned expected_default_max_fibers(void) {
  unsigned long long n = max_map_count();
  unsigned long long reserve = n / 4 > 4096 ? n / 4 : 4096;
  unsigned long long m = n > reserve ? (n - reserve) / 2 : 0;
  if (m > (1ull << 20)) m = 1ull << 20;
  if (m < 64) m = 64;
  return (unsigned)m;
}

Test(config, default_max_fibers_from_map_count) {
  spool_config c;
  spool_config_init(&c);
  /* 65530 (Linux's default) gives 24574; 20,000 parked tasks fit. */
  cr_assert_eq(c.max_fibers, expected_default_max_fibers());
  /* Only where the system allows the default number of mappings or more
     (a lower vm.max_map_count lowers the cap with it, by design). */
  if (max_map_count() >= 65530)
    cr_assert_gt(c.max_fibers, 20000u, "the issue-9 DAG of 20,000 nodes must fit by default");
}

Test(config, defaults) {
  spool_config c;
  memset(&c, 0xA5, sizeof c);
  spool_config_init(&c);
  cr_assert_eq(c.workers, 0u);
  cr_assert_eq(c.bind, SPOOL_BIND_NONE);
  cr_assert_eq(c.fiber_stack_size, (size_t)1 << 20);
  cr_assert_eq(c.max_fibers, expected_default_max_fibers());
  cr_assert_str_eq(c.thread_name_prefix, "spool");
  cr_assert_null(c.initializer);
  cr_assert_null(c.initarg);
  cr_assert(c.catch_stack_overflow);
  cr_assert_null(c.env_error);
  cr_assert_null(c.trace_path);
  for (size_t i = 0; i < sizeof c.reserved / sizeof c.reserved[0]; i++)
    cr_assert_null(c.reserved[i]);
  spool_config_init(NULL); /* does nothing, does not crash */
}

Test(config, workers_valid) {
  spool_config c;
  assert_accepted("SPOOL_WORKERS", "8", &c);
  cr_assert_eq(c.workers, 8u);
  assert_accepted("SPOOL_WORKERS", "1", &c);
  cr_assert_eq(c.workers, 1u);
  assert_accepted("SPOOL_WORKERS", "0", &c); /* 0: the default */
  cr_assert_eq(c.workers, 0u);
}

Test(config, workers_from_environment_reach_the_executor) {
  cr_assert_eq(setenv("SPOOL_WORKERS", "3", 1), 0);
  spool_executor *ex = NULL;
  cr_assert_eq(spool_executor_create(&ex, NULL), SPOOL_OK);
  cr_assert_eq(spool_executor_workers(ex), 3u);
  spool_executor_destroy(ex);
}

Test(config, workers_malformed) {
  assert_malformed("SPOOL_WORKERS", "8x");
  assert_malformed("SPOOL_WORKERS", "x8");
  assert_malformed("SPOOL_WORKERS", "-1");
  assert_malformed("SPOOL_WORKERS", "");
  assert_malformed("SPOOL_WORKERS", " 8");
  assert_malformed("SPOOL_WORKERS", "8 ");
  assert_malformed("SPOOL_WORKERS", "4.5");
  assert_malformed("SPOOL_WORKERS", "0x10");
  assert_malformed("SPOOL_WORKERS", "18446744073709551616");    /* 2^64 */
  assert_malformed("SPOOL_WORKERS", "99999999999999999999999"); /* overflow */
  assert_malformed("SPOOL_WORKERS", "4294967297");              /* 2^32 + 1 */
  assert_malformed("SPOOL_WORKERS", "4097");                    /* above the 4096 limit */
  assert_malformed("SPOOL_WORKERS", "99999");
}

Test(config, workers_up_to_4096) {
  spool_config c;
  assert_accepted("SPOOL_WORKERS", "4096", &c);
  cr_assert_eq(c.workers, 4096u);
}

static atomic_int initializer_calls;
static int count_initializer(void *arg) {
  (void)arg;
  atomic_fetch_add(&initializer_calls, 1);
  return 0;
}

/* More than 4096 workers in the config fails at once: no worker starts
   (its initializer would run), rather than tens of thousands of threads
   before an out-of-memory failure. */
Test(config, too_many_workers_fail_before_any_thread_starts) {
  const unsigned bad[] = {4097, 99999, UINT_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    spool_config c;
    spool_config_init(&c);
    c.workers = bad[i];
    c.initializer = count_initializer;
    spool_executor *ex = (spool_executor *)&c; /* must come back NULL */
    cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_EINVAL, "%u workers", bad[i]);
    cr_assert_null(ex);
    cr_assert_eq(atomic_load(&initializer_calls), 0, "a worker started for %u workers", bad[i]);
  }
}

Test(config, bind_values) {
  static const struct {
    const char *text;
    spool_bind bind;
  } ok[] = {{"none", SPOOL_BIND_NONE},
            {"core", SPOOL_BIND_CORE},
            {"spread", SPOOL_BIND_SPREAD},
            {"numa", SPOOL_BIND_NUMA}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    spool_config c;
    assert_accepted("SPOOL_BIND", ok[i].text, &c);
    cr_assert_eq(c.bind, ok[i].bind, "SPOOL_BIND=%s", ok[i].text);
  }
  /* Either case. */
  static const struct {
    const char *text;
    spool_bind bind;
  } cased[] = {{"NONE", SPOOL_BIND_NONE},
               {"Core", SPOOL_BIND_CORE},
               {"SPREAD", SPOOL_BIND_SPREAD},
               {"nUmA", SPOOL_BIND_NUMA}};
  for (size_t i = 0; i < sizeof cased / sizeof cased[0]; i++) {
    spool_config c;
    assert_accepted("SPOOL_BIND", cased[i].text, &c);
    cr_assert_eq(c.bind, cased[i].bind, "SPOOL_BIND=%s", cased[i].text);
  }
  assert_malformed("SPOOL_BIND", "");
  assert_malformed("SPOOL_BIND", "CORES");
  assert_malformed("SPOOL_BIND", "cores");
  assert_malformed("SPOOL_BIND", "1");
  assert_malformed("SPOOL_BIND", "core ");
}

Test(config, bound_executor_runs_tasks) {
  static const char *const kinds[] = {"none", "core", "spread", "numa"};
  for (size_t i = 0; i < 4; i++) {
    spool_config c;
    assert_accepted("SPOOL_BIND", kinds[i], &c);
    c.workers = 2;
    spool_executor *ex = NULL;
    cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK, "SPOOL_BIND=%s", kinds[i]);
    atomic_long n = 0;
    for (int k = 0; k < 20; k++)
      cr_assert_eq(spool_submit(ex, task_count, &n, NULL), SPOOL_OK);
    cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
    cr_assert_eq(atomic_load(&n), 20);
    spool_executor_destroy(ex);
  }
}

Test(config, stack_size_suffixes) {
  long page = sysconf(_SC_PAGESIZE);
  static const struct {
    const char *text;
    size_t bytes;
  } ok[] = {{"64K", 64u << 10}, {"64k", 64u << 10}, {"2M", 2u << 20},     {"2m", 2u << 20},
            {"16K", 16u << 10}, {"16384", 16384},   {"1048576", 1u << 20}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    spool_config c;
    assert_accepted("SPOOL_STACK_SIZE", ok[i].text, &c);
    cr_assert_eq(c.fiber_stack_size, ok[i].bytes, "SPOOL_STACK_SIZE=%s gave %zu", ok[i].text,
                 c.fiber_stack_size);
  }
  /* Rounded up to whole pages. */
  spool_config c;
  assert_accepted("SPOOL_STACK_SIZE", "100001", &c);
  cr_assert_eq(c.fiber_stack_size % (size_t)page, 0u);
  cr_assert_geq(c.fiber_stack_size, 100001u);
  cr_assert_lt(c.fiber_stack_size, 100001u + (size_t)page);
}

Test(config, stack_size_malformed) {
  assert_malformed("SPOOL_STACK_SIZE", "");
  assert_malformed("SPOOL_STACK_SIZE", "15K"); /* below 16K */
  assert_malformed("SPOOL_STACK_SIZE", "16383");
  assert_malformed("SPOOL_STACK_SIZE", "0");
  assert_malformed("SPOOL_STACK_SIZE", "K");
  assert_malformed("SPOOL_STACK_SIZE", "64KB");
  assert_malformed("SPOOL_STACK_SIZE", "64G");
  assert_malformed("SPOOL_STACK_SIZE", "-64K");
  assert_malformed("SPOOL_STACK_SIZE", "64 K");
  assert_malformed("SPOOL_STACK_SIZE", "99999999999999999999M");
  assert_malformed("SPOOL_STACK_SIZE", "18014398509481984M"); /* 2^54 M: overflows */
  /* Above spool_executor_create()'s bound (SIZE_MAX / 4): named here, not
     an anonymous SPOOL_EINVAL at creation. */
  char text[32];
  snprintf(text, sizeof text, "%zu", (SIZE_MAX >> 2) + 1);
  assert_malformed("SPOOL_STACK_SIZE", text);
  snprintf(text, sizeof text, "%zuM", ((SIZE_MAX >> 2) >> 20) + 1);
  assert_malformed("SPOOL_STACK_SIZE", text);
  snprintf(text, sizeof text, "%zu", SIZE_MAX >> 2); /* rounds up past it */
  assert_malformed("SPOOL_STACK_SIZE", text);
}

Test(config, stack_size_from_environment_runs_tasks) {
  cr_assert_eq(setenv("SPOOL_STACK_SIZE", "64K", 1), 0);
  spool_executor *ex = NULL;
  cr_assert_eq(spool_executor_create(&ex, NULL), SPOOL_OK);
  spool_future *f = NULL;
  static int v;
  void *r = NULL;
  cr_assert_eq(spool_submit(ex, task_return_arg, &v, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, &r), SPOOL_OK);
  cr_assert_eq(r, &v);
  spool_future_release(f);
  spool_executor_destroy(ex);
}

Test(config, max_fibers) {
  spool_config c;
  assert_accepted("SPOOL_MAX_FIBERS", "1", &c);
  cr_assert_eq(c.max_fibers, 1u);
  assert_accepted("SPOOL_MAX_FIBERS", "100000", &c);
  cr_assert_eq(c.max_fibers, 100000u);
  assert_malformed("SPOOL_MAX_FIBERS", "0");
  assert_malformed("SPOOL_MAX_FIBERS", "");
  assert_malformed("SPOOL_MAX_FIBERS", "-3");
  assert_malformed("SPOOL_MAX_FIBERS", "12x");
  assert_malformed("SPOOL_MAX_FIBERS", "99999999999999999999");
}

Test(config, catch_overflow) {
  spool_config c;
  assert_accepted("SPOOL_CATCH_OVERFLOW", "0", &c);
  cr_assert(!c.catch_stack_overflow);
  assert_accepted("SPOOL_CATCH_OVERFLOW", "1", &c);
  cr_assert(c.catch_stack_overflow);
  assert_malformed("SPOOL_CATCH_OVERFLOW", "");
  assert_malformed("SPOOL_CATCH_OVERFLOW", "2");
  assert_malformed("SPOOL_CATCH_OVERFLOW", "yes");
  assert_malformed("SPOOL_CATCH_OVERFLOW", "true");
  assert_malformed("SPOOL_CATCH_OVERFLOW", "01");
}

Test(config, env_error_names_the_first_malformed_variable) {
  suite_clear_env();
  setenv("SPOOL_BIND", "sideways", 1);
  setenv("SPOOL_MAX_FIBERS", "0", 1);
  setenv("SPOOL_CATCH_OVERFLOW", "maybe", 1);
  spool_config c;
  spool_config_init(&c);
  cr_assert_not_null(c.env_error);
  cr_assert_str_eq(c.env_error, "SPOOL_BIND");

  setenv("SPOOL_WORKERS", "two", 1);
  spool_config_init(&c);
  cr_assert_not_null(c.env_error);
  cr_assert_str_eq(c.env_error, "SPOOL_WORKERS");

  suite_clear_env();
  setenv("SPOOL_WORKERS", "2", 1);
  setenv("SPOOL_STACK_SIZE", "1K", 1);
  setenv("SPOOL_CATCH_OVERFLOW", "maybe", 1);
  spool_config_init(&c);
  cr_assert_not_null(c.env_error);
  cr_assert_str_eq(c.env_error, "SPOOL_STACK_SIZE");

  /* Well-formed values around a malformed one are still read. */
  cr_assert_eq(c.workers, 2u);

  /* All well-formed: no error. */
  suite_clear_env();
  setenv("SPOOL_WORKERS", "2", 1);
  setenv("SPOOL_BIND", "core", 1);
  setenv("SPOOL_STACK_SIZE", "256k", 1);
  setenv("SPOOL_MAX_FIBERS", "64", 1);
  setenv("SPOOL_CATCH_OVERFLOW", "0", 1);
  spool_config_init(&c);
  cr_assert_null(c.env_error);
  cr_assert_eq(c.workers, 2u);
  cr_assert_eq(c.bind, SPOOL_BIND_CORE);
  cr_assert_eq(c.fiber_stack_size, 256u << 10);
  cr_assert_eq(c.max_fibers, 64u);
  cr_assert(!c.catch_stack_overflow);
}

Test(config, program_fields_override_the_environment) {
  suite_clear_env();
  setenv("SPOOL_WORKERS", "3", 1);
  spool_config c;
  spool_config_init(&c);
  cr_assert_eq(c.workers, 3u);
  c.workers = 2;
  spool_executor *ex = NULL;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_OK);
  cr_assert_eq(spool_executor_workers(ex), 2u);
  spool_executor_destroy(ex);
}

Test(config, overriding_a_field_does_not_hide_a_malformed_variable) {
  suite_clear_env();
  setenv("SPOOL_WORKERS", "3x", 1);
  spool_config c;
  spool_config_init(&c);
  cr_assert_not_null(c.env_error);
  c.workers = 2; /* the program sets the field the typo was in */
  spool_executor *ex = (spool_executor *)&c;
  cr_assert_eq(spool_executor_create(&ex, &c), SPOOL_EINVAL);
  cr_assert_null(ex);
}
