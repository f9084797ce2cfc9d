/* spool_submit_copy: copies of 1, 48 and 4096 bytes (and sizes around the
 * in-item limit) are seen intact by their tasks while the submitting thread
 * overwrites its buffer right after each submit, from outside and from
 * inside tasks, with and without futures; copies of tasks cancelled by
 * spool_shutdown(cancel_futures) are freed (ASan's leak check and valgrind
 * see a leak otherwise). A plain main() program: it also runs under
 * ThreadSanitizer, which would flag a task reading the caller's buffer. */
#include "harness.h"

static const size_t sizes[] = {1, 47, 48, 64, 65, 256, 257, 4096};
enum { NSIZES = sizeof sizes / sizeof *sizes };

static unsigned char pattern(size_t size, size_t i, unsigned salt) {
  return (unsigned char)(i * 131 + size * 7 + salt);
}

static _Atomic unsigned long checked, corrupted, misaligned;

/* The argument's first byte is the salt; the rest follow pattern(). */
static int check_copy(void *arg, void **result) {
  unsigned char *p = arg;
  (void)result;
  if ((uintptr_t)p % _Alignof(max_align_t)) atomic_fetch_add(&misaligned, 1);
  /* The size is encoded in bytes 1..2 when it is large enough. */
  size_t n = p[0] == 0xFF ? 1 : (size_t)p[1] | (size_t)p[2] << 8;
  if (p[0] != 0xFF) {
    for (size_t i = 3; i < n; i++)
      if (p[i] != pattern(n, i, p[0])) {
        atomic_fetch_add(&corrupted, 1);
        break;
      }
  }
  atomic_fetch_add(&checked, 1);
  return 0;
}

static void fill(unsigned char *buf, size_t size, unsigned salt) {
  if (size < 3) {
    buf[0] = 0xFF;
    return;
  }
  buf[0] = (unsigned char)(salt % 0xFF);
  buf[1] = (unsigned char)size;
  buf[2] = (unsigned char)(size >> 8);
  for (size_t i = 3; i < size; i++)
    buf[i] = pattern(size, i, buf[0]);
}

/* Submits `rounds` copies of each size, overwriting the buffer after each. */
static unsigned long submit_many(spool_executor *ex, unsigned rounds, bool futures) {
  unsigned long submitted = 0;
  unsigned char buf[4096];
  spool_future *fs[NSIZES];
  for (unsigned r = 0; r < rounds; r++) {
    for (size_t k = 0; k < NSIZES; k++) {
      fill(buf, sizes[k], r * NSIZES + (unsigned)k);
      int rc = spool_submit_copy(ex, check_copy, buf, sizes[k], futures ? &fs[k] : NULL);
      if (!CHECK_EQ(rc, SPOOL_OK)) return submitted;
      memset(buf, 0xA5, sizes[k]); /* the caller reuses its buffer at once */
      submitted++;
    }
    if (futures)
      for (size_t k = 0; k < NSIZES; k++) {
        spool_future_result(fs[k], SPOOL_FOREVER, NULL);
        spool_future_release(fs[k]);
      }
  }
  return submitted;
}

typedef struct inside {
  spool_executor *ex;
  unsigned rounds;
  unsigned long submitted;
} inside;

static int submit_inside(void *arg, void **result) {
  (void)result;
  inside *in = arg;
  in->submitted += submit_many(in->ex, in->rounds, false);
  in->submitted += submit_many(in->ex, in->rounds / 4 + 1, true);
  return 0;
}

static int never_runs(void *arg, void **result) {
  (void)arg;
  (void)result;
  return 1;
}

static _Atomic bool holding;

static int hold_worker(void *arg, void **result) {
  (void)result;
  atomic_store(&holding, true);
  while (!atomic_load((_Atomic bool *)arg))
    sched_yield();
  return 0;
}

int main(void) {
  harness_phase("copies intact");
  unsigned rounds = 200 * harness_scale() / harness_slowness() + 10;
  for (unsigned workers = 1; workers <= 3; workers++) {
    spool_executor *ex = harness_executor(workers);
    atomic_store(&checked, 0);
    unsigned long submitted = submit_many(ex, rounds, false);
    submitted += submit_many(ex, rounds / 4 + 1, true);
    inside in = {ex, rounds, 0};
    CHECK_EQ(spool_run(ex, submit_inside, &in, NULL), SPOOL_OK);
    submitted += in.submitted;
    CHECK_EQ(spool_join(ex, SPOOL_FOREVER), SPOOL_OK);
    CHECK_EQ(atomic_load(&checked), submitted);
    spool_executor_destroy(ex);
  }
  CHECK_EQ(atomic_load(&corrupted), 0);
  CHECK_EQ(atomic_load(&misaligned), 0);

  harness_phase("copies of cancelled tasks are freed");
  for (int futures = 0; futures < 2; futures++) {
    spool_executor *ex = harness_executor(1);
    _Atomic bool release = false;
    atomic_store(&holding, false);
    spool_future *hold = harness_submit(ex, hold_worker, &release);
    CHECK(HARNESS_UNTIL(atomic_load(&holding), 30.0)); /* not cancelled with the others */
    unsigned char buf[4096] = {0};
    spool_future *fs[NSIZES];
    for (size_t k = 0; k < NSIZES; k++)
      CHECK_EQ(spool_submit_copy(ex, never_runs, buf, sizes[k], futures ? &fs[k] : NULL), SPOOL_OK);
    CHECK_EQ(spool_shutdown(ex, false, true), SPOOL_OK);
    atomic_store(&release, true);
    if (futures)
      for (size_t k = 0; k < NSIZES; k++) {
        CHECK(spool_future_cancelled(fs[k]));
        spool_future_release(fs[k]);
      }
    spool_future_release(hold);
    spool_stats st = harness_stats(ex);
    CHECK_EQ(st.cancelled, NSIZES);
    spool_executor_destroy(ex);
  }
  harness_watchdog_off();
  return harness_report();
}
