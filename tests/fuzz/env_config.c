/* Fuzz target: the SPOOL_* environment parsers, through spool_config_init.
 *
 * Input: one byte saying which variables are set (bit i: variable i of
 * `vars` below), then their values in that order, separated by NUL bytes
 * (a missing value is empty). Unset variables are unset.
 *
 * Each value is also parsed by the reference parser below, written from
 * DESIGN.md's contract (spool_config_init) independently of
 * runtime/config.c, and the two must agree: env_error names the first
 * malformed variable in the documented order (or is NULL), and each field
 * a well-formed variable before it sets holds the documented value. Where
 * the contract leaves room (SPOOL_BIND in mixed case), either outcome is
 * accepted, but an accepted value must still be right. The stack size's
 * upper bound is spool.h's (rounded up, at most SIZE_MAX / 4), which
 * DESIGN.md leaves open.
 *
 * SPOOL_TRACE (issue 12) gets the same treatment once spool_config has its
 * trace_path: tests/fuzz/meson.build then defines SPOOL_FUZZ_TRACE and the
 * hook below checks it (empty is malformed, anything else is the path; it
 * comes last in the order of env_error). */
#include "fuzz.h"
#include "known.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "spool.h"

enum { V_WORKERS, V_BIND, V_STACK, V_FIBERS, V_CATCH, V_TRACE, NVARS };
static const char *const vars[NVARS] = {"SPOOL_WORKERS",        "SPOOL_BIND",
                                        "SPOOL_STACK_SIZE",     "SPOOL_MAX_FIBERS",
                                        "SPOOL_CATCH_OVERFLOW", "SPOOL_TRACE"};
#ifdef SPOOL_FUZZ_TRACE
#define FUZZED_VARS NVARS
#else
#define FUZZED_VARS V_TRACE /* SPOOL_TRACE is never set */
#endif

typedef enum { REF_OK, REF_MALFORMED, REF_EITHER } ref_verdict;

/* ---- The reference parser ------------------------------------------------ */

/* A non-empty string of decimal digits; *overflow when its value does not
   fit in 64 bits. */
static bool ref_digits(const char *s, size_t len, uint64_t *value, bool *overflow) {
  if (len == 0) return false;
  uint64_t v = 0;
  *overflow = false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) *overflow = true;
    v = v * 10 + d;
  }
  *value = v;
  return true;
}

/* SPOOL_WORKERS: a count, 0 the default, at most 4096. */
static ref_verdict ref_workers(const char *s, uint64_t *out) {
  uint64_t v;
  bool overflow;
  if (!ref_digits(s, strlen(s), &v, &overflow) || overflow) return REF_MALFORMED;
  *out = v;
#if KNOWN_ISSUE10_WORKERS_ABOVE_4096
  if (v > 4096) return REF_EITHER;
#endif
  return v <= 4096 ? REF_OK : REF_MALFORMED;
}

static bool all_case(const char *s, bool upper) {
  for (; *s; s++)
    if ((upper && *s >= 'a' && *s <= 'z') || (!upper && *s >= 'A' && *s <= 'Z')) return false;
  return true;
}

/* SPOOL_BIND: none, core, spread, numa, in either case. */
static ref_verdict ref_bind(const char *s, uint64_t *out) {
  static const char *const names[] = {"none", "core", "spread", "numa"};
  static const spool_bind values[] = {SPOOL_BIND_NONE, SPOOL_BIND_CORE, SPOOL_BIND_SPREAD,
                                      SPOOL_BIND_NUMA};
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(s, names[i]) != 0) continue;
    *out = (uint64_t)values[i];
    if (all_case(s, false)) return REF_OK;
    if (all_case(s, true)) return KNOWN_ISSUE10_BIND_EITHER_CASE ? REF_EITHER : REF_OK;
    return REF_EITHER; /* "Core": the contract says "either case" */
  }
  return REF_MALFORMED;
}

/* SPOOL_STACK_SIZE: bytes with an optional K or M (either case), at least
   16K, rounded up to whole pages, to at most SIZE_MAX / 4 (spool.h). */
static ref_verdict ref_stack(const char *s, uint64_t *out) {
  size_t len = strlen(s);
  uint64_t unit = 1;
  if (len > 0 && (s[len - 1] == 'k' || s[len - 1] == 'K'))
    unit = 1024, len--;
  else if (len > 0 && (s[len - 1] == 'm' || s[len - 1] == 'M'))
    unit = 1024 * 1024, len--;
  uint64_t v;
  bool overflow;
  if (!ref_digits(s, len, &v, &overflow)) return REF_MALFORMED;
  if (overflow || v > UINT64_MAX / unit) return REF_MALFORMED;
  v *= unit;
  if (v < 16 * 1024) return REF_MALFORMED;
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  if (v > SIZE_MAX - page) return REF_MALFORMED; /* cannot be rounded up */
  *out = (v + page - 1) / page * page;
  return *out > SIZE_MAX / 4 ? REF_MALFORMED : REF_OK;
}

/* SPOOL_MAX_FIBERS: at least 1; the field is an unsigned. */
static ref_verdict ref_fibers(const char *s, uint64_t *out) {
  uint64_t v;
  bool overflow;
  if (!ref_digits(s, strlen(s), &v, &overflow) || overflow) return REF_MALFORMED;
  if (v < 1 || v > UINT32_MAX) return REF_MALFORMED;
  *out = v;
  return REF_OK;
}

/* SPOOL_CATCH_OVERFLOW: 0 or 1. */
static ref_verdict ref_catch(const char *s, uint64_t *out) {
  if (strcmp(s, "0") && strcmp(s, "1")) return REF_MALFORMED;
  *out = s[0] == '1';
  return REF_OK;
}

/* SPOOL_TRACE: a path; empty is malformed. */
static ref_verdict ref_trace(const char *s, uint64_t *out) {
  *out = 0;
  return *s ? REF_OK : REF_MALFORMED;
}

static ref_verdict (*const ref_parse[NVARS])(const char *, uint64_t *) = {
    ref_workers, ref_bind, ref_stack, ref_fibers, ref_catch, ref_trace};

/* ---- The comparison ------------------------------------------------------- */

static uint64_t field_of(const spool_config *c, int var) {
  switch (var) {
  case V_WORKERS:
    return c->workers;
  case V_BIND:
    return (uint64_t)c->bind;
  case V_STACK:
    return c->fiber_stack_size;
  case V_FIBERS:
    return c->max_fibers;
  case V_CATCH:
    return c->catch_stack_overflow;
  default:
    return 0;
  }
}

static void check_field(const spool_config *c, int var, const char *value, uint64_t want) {
#ifdef SPOOL_FUZZ_TRACE
  if (var == V_TRACE) {
    FUZZ_CHECK(c->trace_path && !strcmp(c->trace_path, value), "SPOOL_TRACE=\"%s\"", value);
    return;
  }
#endif
  FUZZ_CHECK(field_of(c, var) == want, "%s=\"%s\": field %llu, expected %llu", vars[var], value,
             (unsigned long long)field_of(c, var), (unsigned long long)want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  unsigned mask = data[0];
  /* The values, NUL-separated, copied so that each is a C string. */
  char *buf = malloc(size);
  if (!buf) return 0;
  memcpy(buf, data + 1, size - 1);
  buf[size - 1] = '\0';
  const char *value[NVARS] = {0};
  size_t pos = 0;
  for (int i = 0; i < NVARS; i++) {
    if (i >= FUZZED_VARS || !(mask & (1u << i))) {
      unsetenv(vars[i]);
      continue;
    }
    value[i] = pos < size - 1 ? buf + pos : "";
    if (pos < size - 1) pos += strlen(buf + pos) + 1;
    setenv(vars[i], value[i], 1);
  }

  spool_config c;
  memset(&c, 0xA5, sizeof c); /* spool_config_init must set every field */
  spool_config_init(&c);
  spool_config_init(NULL); /* does nothing, does not crash */

  /* Where the library stopped: the index of env_error, NVARS if none. */
  int stop = NVARS;
  if (c.env_error) {
    for (int i = 0; i < NVARS; i++)
      if (!strcmp(c.env_error, vars[i])) stop = i;
    FUZZ_CHECK(stop < NVARS, "env_error \"%s\" names no variable", c.env_error);
    FUZZ_CHECK(value[stop], "env_error names %s, which is not set", c.env_error);
  }
  for (int i = 0; i < NVARS; i++) {
    if (!value[i]) continue;
    uint64_t want = 0;
    ref_verdict r = ref_parse[i](value[i], &want);
    if (i < stop) { /* taken as well formed */
      FUZZ_CHECK(r != REF_MALFORMED, "%s=\"%s\" is malformed but was accepted (env_error %s)",
                 vars[i], value[i], c.env_error ? c.env_error : "NULL");
      check_field(&c, i, value[i], want);
    } else if (i == stop) {
      FUZZ_CHECK(r != REF_OK, "%s=\"%s\" is well formed but was reported malformed", vars[i],
                 value[i]);
    }
  }

  /* Unset variables keep their defaults. */
  if (stop == NVARS) {
    if (!value[V_WORKERS]) FUZZ_CHECK(c.workers == 0, "default workers %u", c.workers);
    if (!value[V_BIND]) FUZZ_CHECK(c.bind == SPOOL_BIND_NONE, "default bind %d", (int)c.bind);
    if (!value[V_STACK])
      FUZZ_CHECK(c.fiber_stack_size == (size_t)1 << 20, "default stack %zu", c.fiber_stack_size);
    if (!value[V_FIBERS]) FUZZ_CHECK(c.max_fibers >= 1, "default max_fibers %u", c.max_fibers);
    if (!value[V_CATCH]) FUZZ_CHECK(c.catch_stack_overflow, "default catch_stack_overflow");
#ifdef SPOOL_FUZZ_TRACE
    if (!value[V_TRACE]) FUZZ_CHECK(c.trace_path == NULL, "default trace_path");
#endif
  }
  FUZZ_CHECK(c.thread_name_prefix && !strcmp(c.thread_name_prefix, "spool"), "prefix");
  FUZZ_CHECK(c.initializer == NULL && c.initarg == NULL, "initializer");
  for (size_t i = 0; i < sizeof c.reserved / sizeof c.reserved[0]; i++)
    FUZZ_CHECK(c.reserved[i] == NULL, "reserved[%zu] not zero", i);
  free(buf);
  return 0;
}
