/* spool_config: defaults and strict parsing of the SPOOL_* variables.
 *
 * "8x", "-1", "", leading blanks and overflow are all malformed: a typo in a
 * deployment must fail executor creation, not silently mean something. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DEFAULT_STACK_SIZE ((size_t)1 << 20)
#define MIN_STACK_SIZE     ((size_t)16 << 10)
/* A quarter of the address space: far beyond any mapping, low enough that
   rounding up and the guards cannot overflow a size_t. */
#define MAX_STACK_SIZE (SIZE_MAX >> 2)

/* The default max_fibers follows from vm.max_map_count, the kernel's limit
   on mappings per process (DESIGN.md "Fibers", changed 2026-12). Each fiber
   costs two mappings (its stack, and the guard below it, which has
   other permissions and so never merges with a neighbour), and the program
   keeps its own: libraries, heap arenas, thread stacks, sanitizer shadow,
   other executors. So
       max_fibers = (max_map_count - reserve) / 2,
       reserve    = max(max_map_count / 4, MAP_RESERVE_MIN),
   at most MAX_FIBERS_DEFAULT_CAP. Linux's default map count, 65530, gives
   24574: a quarter of the mappings (16382) stay for the program, and the
   workers' loop fibers (not counted in max_fibers) take a few of those.
   When the file cannot be read (not Linux, no /proc), Linux's default map
   count is assumed.

   A library built with ThreadSanitizer announces each fiber to it
   (__tsan_create_fiber), and TSan maps about four more regions per fiber
   for its context and trace (measured by tests/suspend/map_budget.c: 6.0
   mappings per parked task with clang 14). With the divisor 2 there, TSan
   itself failed to mmap once some 10,000 tasks were parked, long before
   the cap; so such a build divides by 6 (8191 with the default map
   count). Valgrind and ASan (clang 14, whose detect_stack_use_after_return
   is off by default; with it on, each fiber may map a fake stack) add no
   mapping per fiber; tests/suspend/map_budget.c measures it in each
   build. */
#define MAP_COUNT_PATH          "/proc/sys/vm/max_map_count"
#define MAP_COUNT_LINUX_DEFAULT 65530ull
#define MAP_RESERVE_MIN         4096ull
/* 2^20: with a raised map count (some distributions set 2^31 - 5), a bound
   that still keeps the stacks' address space (1 MiB each by default, 1 TiB
   in all) far inside x86-64's and AArch64's 128 TiB. */
#define MAX_FIBERS_DEFAULT_CAP (1ull << 20)
/* Below this the formula leaves nothing sensible; never go under it. */
#define MAX_FIBERS_DEFAULT_MIN 64ull

#if defined(__SANITIZE_THREAD__)
#define CONFIG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CONFIG_TSAN 1
#endif
#endif
#ifdef CONFIG_TSAN
#define MAPS_PER_FIBER 6ull
#else
#define MAPS_PER_FIBER 2ull
#endif

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

/* Bytes with an optional K or M suffix (either case); at least 16K and at
   most MAX_STACK_SIZE, the bounds config_validate() holds fiber_stack_size
   to, so that a value out of them is reported as the variable's. */
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
  size_t rounded = config_round_stack((size_t)v);
  if (rounded > MAX_STACK_SIZE) return false;
  *out = rounded;
  return true;
}

/* vm.max_map_count, or 0 if it cannot be read. */
static unsigned long long read_max_map_count(void) {
  FILE *f = fopen(MAP_COUNT_PATH, "re");
  if (!f) return 0;
  char buf[32];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = '\0';
  unsigned long long v;
  return parse_count(buf, UINT64_MAX, &v) ? v : 0;
}

static unsigned default_max_fibers(unsigned long long map_count) {
  if (map_count == 0) map_count = MAP_COUNT_LINUX_DEFAULT;
  unsigned long long reserve = map_count / 4 > MAP_RESERVE_MIN ? map_count / 4 : MAP_RESERVE_MIN;
  unsigned long long n = map_count > reserve ? (map_count - reserve) / MAPS_PER_FIBER : 0;
  if (n > MAX_FIBERS_DEFAULT_CAP) n = MAX_FIBERS_DEFAULT_CAP;
  if (n < MAX_FIBERS_DEFAULT_MIN) n = MAX_FIBERS_DEFAULT_MIN;
  return (unsigned)n;
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
  c->max_fibers = default_max_fibers(read_max_map_count());
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
  if ((v = getenv("SPOOL_TRACE"))) {
    /* The pointer into the environment is kept: the executor copies what
       it needs at creation. Empty is malformed (a typo, not "off"). */
    if (*v)
      c->trace_path = v;
    else
      env_malformed(c, "SPOOL_TRACE");
  }
}

int config_validate(const spool_config *c) {
  if (c->env_error) return SPOOL_EINVAL;
  for (size_t i = 0; i < sizeof c->reserved / sizeof c->reserved[0]; i++)
    if (c->reserved[i]) return SPOOL_EINVAL;
  if ((unsigned)c->bind > SPOOL_BIND_NUMA) return SPOOL_EINVAL;
  if (c->max_fibers == 0) return SPOOL_EINVAL;
  if (c->trace_path && !*c->trace_path) return SPOOL_EINVAL;
  if (c->fiber_stack_size < MIN_STACK_SIZE || c->fiber_stack_size > MAX_STACK_SIZE)
    return SPOOL_EINVAL;
  /* At once, before a single thread starts (99999 workers used to start
     tens of thousands of threads before failing). */
  if (c->workers > SPOOL_MAX_WORKERS) return SPOOL_EINVAL;
  return SPOOL_OK;
}
