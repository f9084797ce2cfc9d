/* The harness's main(): see bench.h. */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A run shorter than this is taken for a warm-up and repeated: a short
   kernel's first run pays page faults, thread wake-ups and cold caches. */
#define WARMUP_BELOW_SECONDS 1.0
/* Repeated short runs stop after this much timed work, or MAX_INNER runs. */
#define INNER_MIN_SECONDS 0.5
#define MAX_INNER         25

static unsigned workers_requested;
static char unsupported_why[BENCH_TEXT] = "not supported";
static volatile uint64_t consumed;

unsigned bench_workers(void) {
  return workers_requested;
}

void bench_consume(uint64_t v) {
  consumed += v;
}

void bench_set_unsupported(const char *why) {
  snprintf(unsupported_why, sizeof unsupported_why, "%s", why);
}

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int bench_size_index(const char *size) {
  static const char *const names[] = {"tiny", "small", "full", "large"};
  for (int i = 0; i < 4; i++)
    if (strcmp(size, names[i]) == 0) return i;
  return -1;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, size_t n) {
  if (n == 0) return 0.0;
  qsort(v, n, sizeof *v, compare_doubles);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Writes s as a JSON string literal. */
static void print_json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

typedef struct outcome {
  const char *kernel, *size;
  const char *check; /* "ok", "FAIL" or "n/a" */
  const char *message;
  double seconds, fastest, slowest;
  int inner;
  const bench_report *report;
} outcome;

static void print_outcome(const outcome *o) {
  const bench_impl *impl = &bench_this_impl;
  printf("BENCH {\"kernel\":");
  print_json_string(o->kernel);
  printf(",\"impl\":");
  print_json_string(impl->name);
  printf(",\"runtime_version\":");
  print_json_string(impl->version ? impl->version() : "");
  printf(",\"workers\":%u,\"size\":", workers_requested);
  print_json_string(o->size);
  printf(",\"check\":");
  print_json_string(o->check);
  printf(",\"message\":");
  print_json_string(o->message ? o->message : "");
  if (o->report) {
    printf(",\"params\":");
    print_json_string(o->report->params);
    printf(",\"value\":");
    print_json_string(o->report->value);
    printf(",\"seconds\":%.9g,\"inner\":%d,\"inner_min\":%.9g,\"inner_max\":%.9g", o->seconds,
           o->inner, o->fastest, o->slowest);
    printf(",\"metrics\":{");
    for (int i = 0; i < o->report->nmetrics; i++) {
      printf("%s", i ? "," : "");
      print_json_string(o->report->metrics[i].name);
      printf(":%.9g", o->report->metrics[i].value);
    }
    printf("}");
  }
  printf("}\n");
  fflush(stdout);
}

static void usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s --kernel NAME [--size tiny|small|full|large] [--workers N]\n"
          "       %s --list\n",
          argv0, argv0);
}

static int parse_unsigned(const char *s, unsigned *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || v > 4096) return -1;
  *out = (unsigned)v;
  return 0;
}

static const bench_kernel *find_kernel(const char *name) {
  for (const bench_kernel *k = bench_this_impl.kernels; k->problem; k++)
    if (strcmp(k->problem->name, name) == 0) return k;
  return NULL;
}

/* One timed run and its check. Returns the exit status to give up with, or
   -1 to go on. */
static int timed_run(const bench_kernel *k, void *state, double *seconds, char *msg, size_t len) {
  if (k->problem->reset) k->problem->reset(state);
  double t0 = bench_now();
  int rc = bench_this_impl.run ? bench_this_impl.run(k->compute, state) : k->compute(state);
  *seconds = bench_now() - t0;
  if (rc == BENCH_UNSUPPORTED) {
    snprintf(msg, len, "%s", unsupported_why);
    return BENCH_EXIT_NA;
  }
  if (rc != 0) {
    snprintf(msg, len, "runtime error %d (%s)", rc,
             bench_this_impl.strerror ? bench_this_impl.strerror(rc) : "?");
    return BENCH_EXIT_FAIL;
  }
  if (k->problem->check(state, msg, len) != 0) return BENCH_EXIT_FAIL;
  return -1;
}

int main(int argc, char **argv) {
  const char *kernel = NULL, *size = "small";
  bool list = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--list") == 0) {
      list = true;
    } else if (strcmp(argv[i], "--kernel") == 0 && i + 1 < argc) {
      kernel = argv[++i];
    } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
      size = argv[++i];
    } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
      if (parse_unsigned(argv[++i], &workers_requested) != 0) {
        fprintf(stderr, "bad --workers value '%s'\n", argv[i]);
        return BENCH_EXIT_USAGE;
      }
    } else {
      usage(argv[0]);
      return BENCH_EXIT_USAGE;
    }
  }
  if (list) {
    for (const bench_kernel *k = bench_this_impl.kernels; k->problem; k++)
      printf("%s\n", k->problem->name);
    return BENCH_EXIT_OK;
  }
  if (!kernel || bench_size_index(size) < 0) {
    usage(argv[0]);
    return BENCH_EXIT_USAGE;
  }

  outcome o = {.kernel = kernel, .size = size, .check = "FAIL"};
  char msg[2 * BENCH_TEXT] = "";
  const bench_kernel *k = find_kernel(kernel);
  if (!k) {
    o.check = "n/a";
    o.message = "not implemented for this runtime";
    print_outcome(&o);
    return BENCH_EXIT_NA;
  }
  if (bench_this_impl.start(workers_requested, msg, sizeof msg) != 0) {
    o.message = msg;
    print_outcome(&o);
    return BENCH_EXIT_FAIL;
  }
  void *state = NULL;
  const bench_problem *problem = k->problem;
  if (problem->prepare(size, &state, msg, sizeof msg) != 0) {
    o.message = msg;
    print_outcome(&o);
    bench_this_impl.stop();
    return BENCH_EXIT_FAIL;
  }

  double samples[MAX_INNER], first;
  int n = 0, status = timed_run(k, state, &first, msg, sizeof msg);
  if (status < 0 && first >= WARMUP_BELOW_SECONDS) {
    samples[n++] = first;
  } else if (status < 0) {
    double total = 0;
    do {
      status = timed_run(k, state, &samples[n], msg, sizeof msg);
      total += samples[n++];
    } while (status < 0 && n < MAX_INNER && total < INNER_MIN_SECONDS);
  }
  if (status >= 0) {
    o.check = status == BENCH_EXIT_NA ? "n/a" : "FAIL";
    o.message = msg;
    print_outcome(&o);
    problem->release(state);
    bench_this_impl.stop();
    return status;
  }

  bench_report report = {.params = "", .value = ""};
  o.fastest = o.slowest = samples[0];
  for (int i = 1; i < n; i++) {
    if (samples[i] < o.fastest) o.fastest = samples[i];
    if (samples[i] > o.slowest) o.slowest = samples[i];
  }
  o.seconds = bench_median(samples, (size_t)n);
  o.inner = n;
  if (problem->report) problem->report(state, o.seconds, &report);
  o.check = "ok";
  o.report = &report;
  print_outcome(&o);
  problem->release(state);
  bench_this_impl.stop();
  return BENCH_EXIT_OK;
}
