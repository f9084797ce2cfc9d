/* spool_yield_until_done on ONE worker: betterconcurrent's cases, and cases
 * that can only finish because the yield frees the worker.
 *
 * 1. A task submits a subtask (5 * 5) and yields until it is done: 25.
 * 2. A task submits eight subtasks and yields until all are done.
 *    (Inline claiming lets 1 and 2 finish without a suspension.)
 * 3. A task A yields on a created future that only task B completes; the
 *    test submits B once A is suspended (the `suspends` statistic says so).
 *    A suspended task's future reports running, not done.
 * 4. A task yields on the future of a subtask (claimed inline) that itself
 *    yields on such a future; and a task yields on a task suspended
 *    elsewhere (two parked at once), both freed by a later task.
 * 5. The same programs written with a blocking spool_future_result
 *    (SPOOL_FOREVER) hang: each runs in a forked child, which must still be
 *    blocked after a bounded window (then killed); the yield versions, run
 *    the same way, must finish, so the harness can tell the two apart. */
#include <errno.h>
#include <poll.h>
#include <sys/wait.h>

#include "harness.h"

/* ---- 1, 2: betterconcurrent ---------------------------------------------- */

static int square(void *arg, void **result) {
  intptr_t x = (intptr_t)arg;
  *result = HARNESS_PTR(x * x);
  return 0;
}

static int submit_one_and_yield(void *arg, void **result) {
  (void)arg;
  spool_future *f = NULL;
  int rc = spool_submit(spool_current_executor(), square, HARNESS_PTR(5), &f);
  if (rc != SPOOL_OK) return 1;
  rc = spool_future_yield_until_done(f);
  bool done = spool_future_done(f);
  void *r = NULL;
  int outcome = spool_future_result(f, 0, &r); /* done: must not block */
  spool_future_release(f);
  if (rc != SPOOL_OK || !done || outcome != SPOOL_OK) return 2;
  *result = r;
  return 0;
}

static int submit_eight_and_yield(void *arg, void **result) {
  (void)arg;
  spool_future *fs[8], *copy[8];
  for (int i = 0; i < 8; i++) {
    if (spool_submit(spool_current_executor(), square, HARNESS_PTR(i + 1), &fs[i]) != SPOOL_OK)
      return 1;
    copy[i] = fs[i];
  }
  int rc = spool_yield_until_done(fs, 8);
  intptr_t sum = 0;
  int bad = rc != SPOOL_OK;
  for (int i = 0; i < 8; i++) {
    if (fs[i] != copy[i]) bad = 1; /* fs is not reordered */
    if (!spool_future_done(fs[i])) bad = 1;
    void *r = NULL;
    if (spool_future_result(fs[i], 0, &r) != SPOOL_OK || (intptr_t)r != (i + 1) * (i + 1)) bad = 1;
    sum += (intptr_t)r;
    spool_future_release(fs[i]);
  }
  *result = HARNESS_PTR(sum);
  return bad ? 2 : 0;
}

static void test_betterconcurrent(void) {
  harness_phase("betterconcurrent: submit one, yield");
  spool_executor *ex = harness_executor(1);
  spool_future *f = harness_submit(ex, submit_one_and_yield, NULL);
  CHECK_EQ(harness_result(f, SPOOL_FOREVER), 25);
  spool_future_release(f);

  harness_phase("betterconcurrent: submit eight, yield");
  f = harness_submit(ex, submit_eight_and_yield, NULL);
  CHECK_EQ(harness_result(f, SPOOL_FOREVER), 1 + 4 + 9 + 16 + 25 + 36 + 49 + 64);
  spool_future_release(f);
  spool_executor_destroy(ex);
}

/* ---- 3, 4: only a freed worker can finish these ------------------------- */

/* How a waiting task waits: the cooperative yield, or a blocking result()
   (the variant that must hang, run only in a forked child). */
static bool blocking_mode;

static int wait_for(spool_future *f, void **value) {
  if (blocking_mode) return spool_future_result(f, SPOOL_FOREVER, value);
  int rc = spool_future_yield_until_done(f);
  if (rc != SPOOL_OK) return rc;
  if (!spool_future_done(f)) return 3;
  return spool_future_result(f, 0, value);
}

static spool_future *event;  /* a created future: only `completer` sets it */
static int progress_fd = -1; /* in a child: where progress bytes go */
static _Atomic bool waiter_started;

static void progress(char c) {
  if (progress_fd >= 0) {
    ssize_t n = write(progress_fd, &c, 1);
    (void)n;
  }
}

/* A: waits for `event` and returns its value plus one. */
static int wait_on_event(void *arg, void **result) {
  (void)arg;
  progress('a');
  atomic_store(&waiter_started, true);
  void *v = NULL;
  int rc = wait_for(event, &v);
  if (rc != SPOOL_OK) return rc;
  *result = HARNESS_PTR((intptr_t)v + 1);
  return 0;
}

/* B: completes `event` with the value it is given. */
static int completer(void *arg, void **result) {
  (void)result;
  return spool_future_set_result(event, arg) == SPOOL_OK ? 0 : 1;
}

/* A task that submits wait_on_event and waits for it: the subtask is claimed
   inline and parks (or blocks) the caller's stack with it. */
static int wait_on_subtask(void *arg, void **result) {
  (void)arg;
  spool_future *sub = NULL;
  if (spool_submit(spool_current_executor(), wait_on_event, NULL, &sub) != SPOOL_OK) return 1;
  void *v = NULL;
  int rc = wait_for(sub, &v);
  spool_future_release(sub);
  if (rc != SPOOL_OK) return rc;
  *result = HARNESS_PTR((intptr_t)v + 10);
  return 0;
}

/* A task that waits on a future given to it (a task suspended elsewhere). */
static int wait_on_given(void *arg, void **result) {
  void *v = NULL;
  int rc = wait_for(arg, &v);
  if (rc != SPOOL_OK) return rc;
  *result = HARNESS_PTR((intptr_t)v + 100);
  return 0;
}

static void test_yield_frees_the_worker(void) {
  harness_phase("one worker: yield on a future only a later task completes");
  spool_executor *ex = harness_executor(1);
  event = harness_created();
  spool_future *a = harness_submit(ex, wait_on_event, NULL);
  CHECK(HARNESS_UNTIL(harness_suspends(ex) == 1, 10));
  /* Suspended: its future reports running, not done; it cannot be
     cancelled. */
  CHECK(spool_future_running(a));
  CHECK(!spool_future_done(a));
  CHECK(!spool_future_cancel(a));
  CHECK(!spool_future_done(event));
  spool_future *b = harness_submit(ex, completer, HARNESS_PTR(41));
  CHECK_EQ(harness_result(a, SPOOL_FOREVER), 42);
  CHECK_EQ(harness_result(b, SPOOL_FOREVER), 0);
  spool_stats s = harness_stats(ex);
  CHECK_EQ(s.suspends, 1);
  CHECK_EQ(s.resumes, 1);
  spool_future_release(a);
  spool_future_release(b);
  spool_future_release(event);

  harness_phase("one worker: yield on a subtask that yields on such a future");
  event = harness_created();
  a = harness_submit(ex, wait_on_subtask, NULL);
  CHECK(HARNESS_UNTIL(harness_suspends(ex) == 2, 10));
  CHECK(spool_future_running(a));
  b = harness_submit(ex, completer, HARNESS_PTR(1));
  CHECK_EQ(harness_result(a, SPOOL_FOREVER), 12);
  CHECK_EQ(harness_result(b, SPOOL_FOREVER), 0);
  spool_future_release(a);
  spool_future_release(b);
  spool_future_release(event);

  harness_phase("one worker: yield on a task suspended elsewhere");
  event = harness_created();
  spool_future *s1 = harness_submit(ex, wait_on_event, NULL);
  CHECK(HARNESS_UNTIL(harness_suspends(ex) == 3, 10));
  a = harness_submit(ex, wait_on_given, s1);
  CHECK(HARNESS_UNTIL(harness_suspends(ex) == 4, 10)); /* two parked on one worker */
  CHECK(spool_future_running(s1) && spool_future_running(a));
  b = harness_submit(ex, completer, HARNESS_PTR(6));
  CHECK_EQ(harness_result(a, SPOOL_FOREVER), 107);
  CHECK_EQ(harness_result(s1, SPOOL_FOREVER), 7);
  CHECK_EQ(harness_result(b, SPOOL_FOREVER), 0);
  CHECK_EQ(harness_stats(ex).resumes, 4);
  spool_future_release(a);
  spool_future_release(b);
  spool_future_release(s1);
  spool_future_release(event);
  spool_executor_destroy(ex);
}

/* ---- 5: the blocking versions hang ------------------------------------ */

/* The child: one worker; submits `first` (which reports 'a' when it runs),
   then, once it runs, the completer; reports 'b'; waits for the first task's
   result and reports 'd' with the value. */
static void child_body(spool_fn first, int fd) {
  progress_fd = fd;
  spool_executor *ex = harness_executor(1);
  event = harness_created();
  spool_future *a = harness_submit(ex, first, NULL);
  /* Once the waiting task runs (it wrote 'a'), submit the completer. */
  while (!atomic_load(&waiter_started))
    sched_yield();
  progress('b');
  spool_future *b = harness_submit(ex, completer, HARNESS_PTR(1));
  void *v = NULL;
  int rc = spool_future_result(a, SPOOL_FOREVER, &v);
  progress(rc == SPOOL_OK ? 'd' : 'e');
  spool_future_release(b);
  spool_future_release(a);
  spool_future_release(event);
  spool_executor_destroy(ex);
  _exit(0);
}

/* Reads one byte from fd within `seconds`; returns it, 0 on end of file, -1
   on timeout. */
static int read_byte(int fd, double seconds) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int ms = (int)(seconds * 1000);
  int n;
  do
    n = poll(&p, 1, ms);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return -1;
  char c;
  ssize_t got = read(fd, &c, 1);
  return got == 1 ? (unsigned char)c : 0;
}

/* Runs the program in a child; returns true if it finished ('d' and a clean
   exit), false if it was still blocked after `window` seconds (it is then
   killed). Set-up problems are recorded as failures. */
static bool child_finishes(spool_fn first, bool blocking, double window) {
  int fds[2];
  if (!CHECK(pipe(fds) == 0)) return false;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    blocking_mode = blocking;
    alarm(0);
    child_body(first, fds[1]);
  }
  close(fds[1]);
  if (!CHECK(pid > 0)) return false;
  /* Start-up may be slow (a sanitizer); the window starts once the child
     has submitted the completer. */
  double slow = 20.0 * harness_slowness();
  bool ran = read_byte(fds[0], slow) == 'a';
  CHECK(ran);
  CHECK_EQ(read_byte(fds[0], slow), 'b');
  int last = read_byte(fds[0], window);
  bool finished = last == 'd';
  int status = 0;
  if (!finished) {
    CHECK_EQ(last, -1); /* blocked, not failed */
    kill(pid, SIGKILL);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  } else {
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  close(fds[0]);
  return finished;
}

static void test_blocking_wait_hangs(void) {
  /* A bounded window (0.5 s from the completer's submission): a blocked
     worker stays blocked however long one waits, and the yield versions
     finish in well under a millisecond. A slow build can only make a child
     that would finish look blocked, never the reverse, and the yield
     versions below, given 20 s, tell a blocked child from a slow one. */
  double window = 0.5;
  harness_phase("blocking result() on one worker hangs (forked child)");
  CHECK(!child_finishes(wait_on_event, true, window));
  CHECK(!child_finishes(wait_on_subtask, true, window));
  harness_phase("the yield versions of the same children finish");
  CHECK(child_finishes(wait_on_event, false, 20.0 * harness_slowness()));
  CHECK(child_finishes(wait_on_subtask, false, 20.0 * harness_slowness()));
}

int main(void) {
  /* The forks first, while this process has no other thread. */
  test_blocking_wait_hangs();
  test_betterconcurrent();
  test_yield_frees_the_worker();
  harness_watchdog_off();
  return harness_report();
}
