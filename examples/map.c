/* map: spool_map() over an array of inputs, one of which is bad.
 *
 * Python's Executor.map(fn, items), over a C array: spool_map() calls
 * fn(args[i], &result) for every i in parallel, stores each result and each
 * call's error code, and returns the code of the lowest index that failed
 * (0 when all succeeded). Every item runs, even after a failure, as in
 * Python, so the program can report them all.
 *
 * Here each input is a decimal number as text; the task parses it strictly
 * and computes the number of steps its Collatz sequence takes to reach 1.
 * "12x" is not a number: its task fails with EINVAL (any nonzero int is a
 * task's error code; spool's own codes lie in a reserved block, so errno
 * values pass through unchanged).
 *
 * Expected output (exit status 1, since an item failed):
 *
 *   27 -> 111 steps
 *   97 -> 118 steps
 *   12x -> error: Invalid argument
 *   871 -> 178 steps
 *   ...
 *   spool_map returned 22 (Invalid argument): the first failing item is 2 */
#include <spool.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The task: `arg` is one input string; the result is the step count, stored
   in a uintptr_t cast to a pointer (no allocation for a small integer). */
static int collatz_steps(void *arg, void **result) {
  const char *text = arg;
  char *end;
  errno = 0;
  unsigned long long n = strtoull(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno != 0 || n == 0) return EINVAL;
  uintptr_t steps = 0;
  while (n != 1) {
    if (n > (ULLONG_MAX - 1) / 3) return ERANGE; /* 3n + 1 would overflow */
    n = n % 2 ? 3 * n + 1 : n / 2;
    steps++;
  }
  *result = (void *)steps;
  return 0;
}

int main(void) {
  static const char *const inputs[] = {"27", "97", "12x", "871", "6171", "77031", "837799"};
  enum { N = sizeof inputs / sizeof inputs[0] };
  void *results[N];
  int errors[N];

  spool_executor *ex;
  int rc = spool_executor_create(&ex, NULL);
  if (rc != SPOOL_OK) {
    fprintf(stderr, "spool_executor_create: %s\n", spool_strerror(rc));
    return 2;
  }
  /* spool_map takes void *const *: the strings are only read. */
  rc = spool_map(ex, collatz_steps, (void *const *)inputs, N, results, errors);
  spool_executor_destroy(ex);

  int first_failed = -1;
  for (int i = 0; i < N; i++) {
    if (errors[i] == 0) {
      printf("%s -> %" PRIuPTR " steps\n", inputs[i], (uintptr_t)results[i]);
    } else {
      printf("%s -> error: %s\n", inputs[i], strerror(errors[i]));
      if (first_failed < 0) first_failed = i;
    }
  }
  if (rc == SPOOL_OK) {
    printf("spool_map returned 0: every item succeeded\n");
    return 0;
  }
  /* A task's code comes back unchanged; spool_strerror() names only the
     runtime's codes, so a task's code is named by strerror(). */
  printf("spool_map returned %d (%s): the first failing item is %d\n", rc,
         rc >= -10999 && rc <= -10001 ? spool_strerror(rc) : strerror(rc), first_failed);
  return 1;
}
