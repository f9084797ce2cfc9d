/* spool_config: defaults and strict parsing of the SPOOL_* variables.
 *
 * "8x", "-1", "", leading blanks and overflow are all malformed: a typo in a
 * deployment must fail executor creation, not silently mean something. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DEFAULT_STACK_SIZE ((size_t)1 << 20)
#define MIN_STACK_SIZE     ((size_t)16 << 10)
#define DEFAULT_MAX_FIBERS 16384u

/* Digits only, no sign, no blanks, no overflow of `max`. */
static bool parse_unsigned(const char *s, unsigned long long max, unsigned long long *out,
                           const char **end) {
  if (!isdigit((unsigned char)*s)) return false;
  errno = 0;
  char *e;
  unsigned long long v = strtoull(s, &e, 10);
  if (errno == ERANGE || v > max) return false;
  *out = v;
  *end = e;
  return true;
}

static bool parse_count(const char *s, unsigned long long max, unsigned long long *out) {
  const char *end;
  return parse_unsigned(s, max, out, &end) && *end == '\0';
}

size_t config_round_stack(size_t bytes) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return (bytes + page - 1) / page * page;
}

/* Bytes with an optional K or M suffix (either case); at least 16K. */
static bool parse_stack_size(const char *s, size_t *out) {
  unsigned long long v;
  const char *end;
  if (!parse_unsigned(s, SIZE_MAX, &v, &end)) return false;
  unsigned long long unit = 1;
  if (*end == 'k' || *end == 'K')
    unit = 1ull << 10, end++;
  else if (*end == 'm' || *end == 'M')
    unit = 1ull << 20, end++;
  if (*end != '\0') return false;
  if (v > (SIZE_MAX >> 1) / unit) return false; /* leaves room to round up */
  v *= unit;
  if (v < MIN_STACK_SIZE) return false;
  *out = config_round_stack((size_t)v);
  return true;
}

static void env_malformed(spool_config *c, const char *name) {
  if (!c->env_error) c->env_error = name;
}

void spool_config_init(spool_config *c) {
  if (!c) return;
  memset(c, 0, sizeof *c);
  c->workers = 0;
  c->bind = SPOOL_BIND_NONE;
  c->fiber_stack_size = DEFAULT_STACK_SIZE;
  c->max_fibers = DEFAULT_MAX_FIBERS;
  c->thread_name_prefix = "spool";
  c->catch_stack_overflow = true;
  c->env_error = NULL;

  const char *v;
  unsigned long long n;
  if ((v = getenv("SPOOL_WORKERS"))) {
    if (parse_count(v, SPOOL_MAX_WORKERS, &n))
      c->workers = (unsigned)n;
    else
      env_malformed(c, "SPOOL_WORKERS");
  }
  if ((v = getenv("SPOOL_BIND"))) {
    /* Either case: "CORE", "Core" and "core" alike. */
    if (!strcasecmp(v, "none"))
      c->bind = SPOOL_BIND_NONE;
    else if (!strcasecmp(v, "core"))
      c->bind = SPOOL_BIND_CORE;
    else if (!strcasecmp(v, "spread"))
      c->bind = SPOOL_BIND_SPREAD;
    else if (!strcasecmp(v, "numa"))
      c->bind = SPOOL_BIND_NUMA;
    else
      env_malformed(c, "SPOOL_BIND");
  }
  if ((v = getenv("SPOOL_STACK_SIZE"))) {
    size_t bytes;
    if (parse_stack_size(v, &bytes))
      c->fiber_stack_size = bytes;
    else
      env_malformed(c, "SPOOL_STACK_SIZE");
  }
  if ((v = getenv("SPOOL_MAX_FIBERS"))) {
    if (parse_count(v, UINT32_MAX, &n) && n >= 1)
      c->max_fibers = (unsigned)n;
    else
      env_malformed(c, "SPOOL_MAX_FIBERS");
  }
  if ((v = getenv("SPOOL_CATCH_OVERFLOW"))) {
    if (!strcmp(v, "0"))
      c->catch_stack_overflow = false;
    else if (!strcmp(v, "1"))
      c->catch_stack_overflow = true;
    else
      env_malformed(c, "SPOOL_CATCH_OVERFLOW");
  }
}

int config_validate(const spool_config *c) {
  if (c->env_error) return SPOOL_EINVAL;
  for (size_t i = 0; i < sizeof c->reserved / sizeof c->reserved[0]; i++)
    if (c->reserved[i]) return SPOOL_EINVAL;
  if ((unsigned)c->bind > SPOOL_BIND_NUMA) return SPOOL_EINVAL;
  if (c->max_fibers == 0) return SPOOL_EINVAL;
  if (c->fiber_stack_size < MIN_STACK_SIZE || c->fiber_stack_size > (SIZE_MAX >> 2))
    return SPOOL_EINVAL;
  /* At once, before a single thread starts (99999 workers used to start
     tens of thousands of threads before failing). */
  if (c->workers > SPOOL_MAX_WORKERS) return SPOOL_EINVAL;
  return SPOOL_OK;
}
