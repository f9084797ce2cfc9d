/* spool_for, spool_map and spool_submit_copy: their contracts, one by one
 * (Criterion; the concurrent cases are in stress.c, which also runs under
 * ThreadSanitizer). */
#include <stdint.h>
#include <string.h>

#include "ranges.h"
#include "suite.h"

SPOOL_SUITE(loops);

static void check_cover(spool_executor *ex, size_t begin, size_t end, size_t grain) {
  ranges r;
  size_t len = end > begin ? end - begin : 0;
  size_t cap = grain ? (len / grain + 2 < 200000 ? len / grain + 2 : 200000) : 100000;
  ranges_init(&r, ex, cap);
  int rc = spool_for(ex, begin, end, grain, ranges_body, &r);
  const char *problem = ranges_problem(&r, begin, end, grain);
  cr_assert_eq(rc, SPOOL_OK, "[%zu, %zu) grain %zu: %s", begin, end, grain, spool_strerror(rc));
  cr_assert_null(problem, "[%zu, %zu) grain %zu: %s", begin, end, grain, problem);
  ranges_destroy(&r);
}

Test(loops, covers_many_ranges_exactly) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  const size_t begins[] = {0, 1, 7, 1000, 123456789};
  const size_t lengths[] = {0, 1, 2, 3, 63, 64, 65, 100, 1000, 4097, 100000};
  const size_t grains[] = {0, 1, 2, 3, 7, 64, 1000, 100001, SIZE_MAX};
  for (size_t b = 0; b < sizeof begins / sizeof *begins; b++)
    for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++)
      for (size_t g = 0; g < sizeof grains / sizeof *grains; g++) {
        if (grains[g] == 1 && lengths[l] > 5000) continue; /* keep it quick */
        check_cover(ex, begins[b], begins[b] + lengths[l], grains[g]);
      }
  spool_executor_destroy(ex);
}

Test(loops, covers_ranges_near_size_max) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  const size_t lengths[] = {1, 2, 63, 64, 65, 1000, 65537};
  const size_t grains[] = {0, 1, 3, 64, 1000, SIZE_MAX / 2, SIZE_MAX};
  for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++)
    for (size_t g = 0; g < sizeof grains / sizeof *grains; g++) {
      check_cover(ex, SIZE_MAX - lengths[l], SIZE_MAX, grains[g]);
      check_cover(ex, SIZE_MAX - lengths[l] - 5, SIZE_MAX - 5, grains[g]);
    }
  /* The whole index space: only coarse grains keep the body count small. */
  check_cover(ex, 0, SIZE_MAX, 0);
  check_cover(ex, 0, SIZE_MAX, SIZE_MAX / 1000);
  check_cover(ex, 0, SIZE_MAX, SIZE_MAX);
  check_cover(ex, 1, SIZE_MAX, SIZE_MAX - 1);
  spool_executor_destroy(ex);
}

Test(loops, grain_cuts_on_the_grid) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  ranges r;
  ranges_init(&r, ex, 1000);
  cr_assert_eq(spool_for(ex, 5, 5 + 10 * 37 + 3, 10, ranges_body, &r), SPOOL_OK);
  cr_assert_null(ranges_problem(&r, 5, 5 + 373, 10));
  cr_assert_eq(r.count, 38);
  for (size_t i = 0; i < r.count; i++) {
    cr_assert_eq((r.items[i].lo - 5) % 10, 0);
    cr_assert_eq(r.items[i].hi - r.items[i].lo, i + 1 < r.count ? 10u : 3u);
  }
  ranges_destroy(&r);
  spool_executor_destroy(ex);
}

static int never_called(size_t lo, size_t hi, void *ctx) {
  (void)lo;
  (void)hi;
  *(int *)ctx += 1;
  return 0;
}

Test(loops, empty_range_and_invalid_arguments) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  int calls = 0;
  cr_assert_eq(spool_for(ex, 5, 5, 0, never_called, &calls), SPOOL_OK);
  cr_assert_eq(spool_for(ex, 6, 5, 1, never_called, &calls), SPOOL_OK);
  cr_assert_eq(spool_for(ex, SIZE_MAX, 0, 1, never_called, &calls), SPOOL_OK);
  cr_assert_eq(calls, 0);
  cr_assert_eq(spool_for(NULL, 0, 10, 0, never_called, &calls), SPOOL_EINVAL);
  cr_assert_eq(spool_for(ex, 0, 10, 0, NULL, &calls), SPOOL_EINVAL);
  cr_assert_eq(calls, 0);
  void *args[1] = {NULL};
  cr_assert_eq(spool_map(NULL, task_return_arg, args, 1, NULL, NULL), SPOOL_EINVAL);
  cr_assert_eq(spool_map(ex, NULL, args, 1, NULL, NULL), SPOOL_EINVAL);
  cr_assert_eq(spool_map(ex, task_return_arg, NULL, 1, NULL, NULL), SPOOL_EINVAL);
  cr_assert_eq(spool_map(ex, task_return_arg, NULL, 0, NULL, NULL), SPOOL_OK);
  spool_executor_destroy(ex);
}

static int fail_at(size_t lo, size_t hi, void *ctx) {
  size_t *at = ctx;
  return lo <= *at && *at < hi ? -7 : 0;
}

static int fail_reserved(size_t lo, size_t hi, void *ctx) {
  (void)lo;
  (void)hi;
  return *(int *)ctx;
}

Test(loops, error_codes_pass_through_unchanged) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  size_t at = 500;
  cr_assert_eq(spool_for(ex, 0, 1000, 1, fail_at, &at), -7);
  cr_assert_eq(spool_for(ex, 0, 1000, 0, fail_at, &at), -7);
  const int codes[] = {SPOOL_ETIMEDOUT, SPOOL_ECANCELLED, SPOOL_EINVAL, -10999, 1, -1, INT32_MIN};
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
    int code = codes[i];
    cr_assert_eq(spool_for(ex, 0, 10, 1, fail_reserved, &code), code, "code %d", code);
  }
  spool_executor_destroy(ex);
}

typedef struct record_then_fail {
  ranges r;
  size_t at;
} record_then_fail;

static int record_and_fail_at(size_t lo, size_t hi, void *ctx) {
  record_then_fail *x = ctx;
  ranges_body(lo, hi, &x->r);
  return lo <= x->at && x->at < hi ? -7 : 0;
}

Test(loops, one_worker_stops_right_after_the_failure) {
  /* On one worker nobody takes a split half, so subranges run in
     increasing order and a failure at index K leaves exactly 0..K run. */
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  for (size_t grain = 0; grain < 3; grain++) {
    record_then_fail x;
    ranges_init(&x.r, ex, 2000);
    x.at = 700;
    cr_assert_eq(spool_for(ex, 0, 1000, grain, record_and_fail_at, &x), -7);
    size_t stop = grain ? (700 / grain + 1) * grain : 0;
    if (!grain) /* the automatic pieces: 16 long for 1000 indices */
      stop = (700 / 16 + 1) * 16;
    cr_assert_null(ranges_problem(&x.r, 0, stop, grain), "grain %zu: %s", grain,
                   ranges_problem(&x.r, 0, stop, grain));
    ranges_destroy(&x.r);
  }
  spool_executor_destroy(ex);
}

/* ---- From outside, from inside, after shutdown ---------------------------- */

typedef struct inside {
  spool_executor *ex;
  int rc;
  const char *problem;
} inside;

static int loop_inside_task(void *arg, void **result) {
  (void)result;
  inside *in = arg;
  ranges r;
  ranges_init(&r, in->ex, 100000);
  in->rc = spool_for(in->ex, 3, 30003, 0, ranges_body, &r);
  in->problem = ranges_problem(&r, 3, 30003, 0);
  ranges_destroy(&r);
  return 0;
}

Test(loops, runs_inside_a_task) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  inside in = {ex, -1, "not run"};
  cr_assert_eq(spool_run(ex, loop_inside_task, &in, NULL), SPOOL_OK);
  cr_assert_eq(in.rc, SPOOL_OK);
  cr_assert_null(in.problem, "%s", in.problem);
  spool_executor_destroy(ex);
}

static int loop_after_shutdown(void *arg, void **result) {
  (void)result;
  inside *in = arg;
  /* Wait until the shutdown has happened (the test's thread does it). */
  while (spool_submit(in->ex, task_return_arg, NULL, NULL) == SPOOL_OK)
    sched_yield();
  return loop_inside_task(arg, result);
}

Test(loops, after_shutdown) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  inside in = {ex, -1, "not run"};
  spool_future *f = NULL;
  cr_assert_eq(spool_submit(ex, loop_after_shutdown, &in, &f), SPOOL_OK);
  cr_assert_eq(spool_shutdown(ex, false, false), SPOOL_OK);
  int calls = 0;
  cr_assert_eq(spool_for(ex, 0, 10, 0, never_called, &calls), SPOOL_ESHUTDOWN);
  void *args[1] = {NULL};
  cr_assert_eq(spool_map(ex, task_return_arg, args, 1, NULL, NULL), SPOOL_ESHUTDOWN);
  cr_assert_eq(calls, 0);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  /* Inside a running task the loop still runs. */
  cr_assert_eq(in.rc, SPOOL_OK);
  cr_assert_null(in.problem, "%s", in.problem);
  spool_future_release(f);
  spool_executor_destroy(ex);
}

/* ---- spool_map -------------------------------------------------------------- */

static int square_or_fail(void *arg, void **result) {
  intptr_t v = (intptr_t)arg;
  if (v % 7 == 3) return (int)-v;
  *result = (void *)(v * v);
  return 0;
}

Test(loops, map_results_errors_and_lowest_code) {
  spool_executor *ex = executor_with(2);
  cr_assert_not_null(ex);
  enum { N = 5000 };
  static void *args[N], *results[N];
  static int errors[N];
  for (intptr_t i = 0; i < N; i++) {
    args[i] = (void *)i;
    results[i] = (void *)1;
    errors[i] = 12345;
  }
  /* index 3 is the lowest failing one: its code is -3 */
  cr_assert_eq(spool_map(ex, square_or_fail, args, N, results, errors), -3);
  for (intptr_t i = 0; i < N; i++) {
    if (i % 7 == 3) {
      cr_assert_eq(errors[i], (int)-i);
      cr_assert_null(results[i]);
    } else {
      cr_assert_eq(errors[i], 0);
      cr_assert_eq((intptr_t)results[i], i * i);
    }
  }
  /* results and errors may be NULL; every item still runs */
  cr_assert_eq(spool_map(ex, square_or_fail, args + 4, 3, NULL, NULL), SPOOL_OK);
  cr_assert_eq(spool_map(ex, square_or_fail, args + 4, 7, NULL, errors), -10);
  cr_assert_eq(spool_map(ex, square_or_fail, args + 4, 7, results, NULL), -10);
  spool_executor_destroy(ex);
}

static int map_reserved(void *arg, void **result) {
  (void)result;
  return *(int *)arg;
}

Test(loops, map_passes_runtime_codes_through) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  int ok = 0, timedout = SPOOL_ETIMEDOUT, cancelled = SPOOL_ECANCELLED;
  void *args[3] = {&ok, &timedout, &cancelled};
  int errors[3];
  cr_assert_eq(spool_map(ex, map_reserved, args, 3, NULL, errors), SPOOL_ETIMEDOUT);
  cr_assert_eq(errors[0], 0);
  cr_assert_eq(errors[1], SPOOL_ETIMEDOUT);
  cr_assert_eq(errors[2], SPOOL_ECANCELLED);
  spool_executor_destroy(ex);
}

/* ---- spool_submit_copy ---------------------------------------------------- */

typedef struct copy_seen {
  size_t size;
  unsigned char bytes[8192];
  bool aligned, was_null;
} copy_seen;

static copy_seen seen;

static int record_copy(void *arg, void **result) {
  seen.was_null = arg == NULL;
  seen.aligned = (uintptr_t)arg % _Alignof(max_align_t) == 0;
  if (arg) memcpy(seen.bytes, arg, seen.size);
  *result = arg;
  return 0;
}

Test(loops, submit_copy_with_a_future) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  const size_t sizes[] = {1, 47, 48, 64, 65, 256, 257, 4096, 8192};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    unsigned char buf[8192];
    for (size_t i = 0; i < sizes[k]; i++)
      buf[i] = (unsigned char)(i * 31 + k);
    seen.size = sizes[k];
    spool_future *f = NULL;
    cr_assert_eq(spool_submit_copy(ex, record_copy, buf, sizes[k], &f), SPOOL_OK);
    void *r = NULL;
    cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, &r), SPOOL_OK);
    cr_assert_neq(r, (void *)buf, "the task got the caller's buffer, not a copy");
    cr_assert(seen.aligned);
    cr_assert_eq(memcmp(seen.bytes, buf, sizes[k]), 0, "size %zu", sizes[k]);
    spool_future_release(f);
  }
  spool_executor_destroy(ex);
}

Test(loops, submit_copy_edge_cases) {
  spool_executor *ex = executor_with(1);
  cr_assert_not_null(ex);
  spool_future *f = (spool_future *)1;
  cr_assert_eq(spool_submit_copy(ex, record_copy, NULL, 4, &f), SPOOL_EINVAL);
  cr_assert_null(f);
  cr_assert_eq(spool_submit_copy(NULL, record_copy, "x", 1, &f), SPOOL_EINVAL);
  cr_assert_eq(spool_submit_copy(ex, NULL, "x", 1, &f), SPOOL_EINVAL);
  cr_assert_eq(spool_submit_copy(ex, NULL, "x", 1, NULL), SPOOL_EINVAL);
  /* size 0: the task gets NULL, whatever arg is */
  seen.size = 0;
  seen.was_null = false;
  cr_assert_eq(spool_submit_copy(ex, record_copy, "x", 0, &f), SPOOL_OK);
  cr_assert_eq(spool_future_result(f, SPOOL_FOREVER, NULL), SPOOL_OK);
  cr_assert(seen.was_null);
  spool_future_release(f);
  seen.was_null = false;
  cr_assert_eq(spool_submit_copy(ex, record_copy, NULL, 0, NULL), SPOOL_OK);
  cr_assert_eq(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
  cr_assert(seen.was_null);
  cr_assert_eq(spool_shutdown(ex, false, false), SPOOL_OK);
  cr_assert_eq(spool_submit_copy(ex, record_copy, "x", 1, &f), SPOOL_ESHUTDOWN);
  cr_assert_null(f);
  cr_assert_eq(spool_submit_copy(ex, record_copy, "x", 1, NULL), SPOOL_ESHUTDOWN);
  spool_executor_destroy(ex);
}
