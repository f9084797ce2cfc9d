/* The stack-overflow handler.
 *
 * Checks: a fiber that recurses until it overflows makes the process print
 * the one-line message and die of SIGABRT (in a forked child, on the main
 * thread and on another thread); a SIGSEGV that is not a guard-page hit of
 * the running fiber reaches the handler installed before (which leaves with
 * siglongjmp), even a hit in the guard of a fiber that is not running;
 * with SIG_DFL before, such a fault and a SIGSEGV sent by kill() still kill
 * the process with SIGSEGV, silently; the alternate signal stack is made
 * once per thread and removed by the teardown.
 *
 * Under AddressSanitizer the overflow itself is not checked: ASan owns
 * SIGSEGV (DESIGN.md, "Testing"). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fiber.h"
#include "overflow.h"

#define STACK_SIZE ((size_t)64 << 10)
#define EXPECTED_MESSAGE                                                                           \
  "spool: a task overflowed its fiber stack (65536 bytes); raise spool_config.fiber_stack_size "   \
  "or SPOOL_STACK_SIZE\n"

/* Runs fn() in a child whose stderr is captured; returns its wait status
   and what it wrote (NUL-terminated, truncated to `size`). */
static int run_child(void (*fn)(void), char *out, size_t size) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    fn();
    _exit(0);
  }
  close(fds[1]);
  size_t len = 0;
  ssize_t n;
  while ((n = read(fds[0], out + len, size - 1 - len)) > 0)
    len += (size_t)n;
  out[len] = '\0';
  close(fds[0]);
  /* Under qemu-user (tests/run's AArch64 stage sets SPOOL_TEST_EMULATOR)
     the emulator itself reports the child's death by a signal on the
     child's stderr: drop that line, it is not the program's. */
  const char *emulator = getenv("SPOOL_TEST_EMULATOR");
  char *q = emulator && *emulator ? strstr(out, "qemu: uncaught target signal") : NULL;
  if (q && (q == out || q[-1] == '\n')) {
    char *end = strchr(q, '\n');
    memmove(q, end ? end + 1 : q + strlen(q), strlen(end ? end + 1 : q + strlen(q)) + 1);
  }
  int status = -1;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

/* ---- Overflow --------------------------------------------------------- */

#ifndef TEST_ASAN

static volatile unsigned recursion_limit = UINT32_MAX; /* never reached; keeps GCC from
                                                          calling the recursion infinite */

static unsigned recurse(unsigned depth) {
  volatile char frame[256];
  frame[0] = (char)depth;
  if (depth == recursion_limit) return 0;
  return recurse(depth + 1) + (unsigned)frame[0];
}

static void recurse_entry(void *transfer) {
  (void)transfer;
  recurse(0);
  abort(); /* not reached */
}

/* Sets up fibers and the handler on the calling thread, then overflows. */
static void *overflow_on_this_thread(void *unused) {
  (void)unused;
  static _Thread_local fiber self;
  fiber_init_thread(&self);
  if (overflow_install() != 0 || overflow_thread_init() != 0) _exit(10);
  static fiber_source source;
  static fiber_cache cache;
  if (fiber_source_init(&source, STACK_SIZE, 4) != 0) _exit(11);
  fiber_cache_init(&cache, &source);
  fiber *f = fiber_acquire(&cache, recurse_entry);
  if (!f) _exit(12);
  fiber_switch(&self, f, NULL);
  _exit(13); /* not reached */
}

static void child_overflow_main_thread(void) {
  overflow_on_this_thread(NULL);
}

static void child_overflow_other_thread(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, overflow_on_this_thread, NULL) != 0) _exit(14);
  pthread_join(t, NULL);
  _exit(15); /* not reached */
}

static void test_overflow_message(void (*child)(void), const char *where) {
  char out[4096];
  int status = run_child(child, out, sizeof out);
  bool ok = CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  ok &= CHECK(strcmp(out, EXPECTED_MESSAGE) == 0);
  if (!ok)
    fprintf(stderr, "overflow on the %s: status %#x, stderr:\n%s\n", where, (unsigned)status, out);
}

#endif /* !TEST_ASAN */

/* ---- Faults that are not ours ----------------------------------------- */

static sigjmp_buf recover;
static void *volatile fault_address;
static volatile int faults_seen;

static void test_segv_handler(int sig, siginfo_t *info, void *ucontext) {
  (void)sig, (void)ucontext;
  fault_address = info->si_addr;
  faults_seen++;
  siglongjmp(recover, 1);
}

/* Writes to *p; true if the fault reached test_segv_handler. */
static bool write_faults(char *p) {
  int before = faults_seen;
  fault_address = NULL;
  TEST_EXPECTED_FAULT_BEGIN();
  if (sigsetjmp(recover, 1) == 0) {
    *(volatile char *)p = 1;
    TEST_EXPECTED_FAULT_END();
    return false;
  }
  TEST_EXPECTED_FAULT_END();
  return faults_seen == before + 1 && fault_address == p;
}

static fiber main_fiber;
static fiber *writer;
static char *writer_target;
static bool writer_result;

static void writer_entry(void *transfer) {
  (void)transfer;
  writer_result = write_faults(writer_target);
  fiber_switch_abandon(writer, &main_fiber, NULL);
}

static void test_faults_passed_on(void) {
  struct sigaction sa = {.sa_sigaction = test_segv_handler, .sa_flags = SA_SIGINFO};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
  /* installed after the program's handler, as an executor would be */
  CHECK(overflow_install() == 0);
  CHECK(overflow_install() == 0); /* once: a second call changes nothing */
  CHECK(overflow_thread_init() == 0);
  fiber_init_thread(&main_fiber);

  char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!CHECK(page != MAP_FAILED)) return;
  CHECK(write_faults(page));
  CHECK(write_faults(page + 100));

  fiber_source source;
  fiber_cache cache;
  CHECK(fiber_source_init(&source, STACK_SIZE, 4) == 0);
  fiber_cache_init(&cache, &source);
  writer = fiber_acquire(&cache, writer_entry);
  fiber *idle = fiber_acquire(&cache, writer_entry);
  if (CHECK(writer && idle)) {
    /* The guard of a fiber that is not running is no overflow. */
    CHECK(write_faults(idle->guard_lo));
    /* Nor, for a running fiber, is a PROT_NONE page elsewhere or the guard
       page of another fiber. */
    writer_target = page;
    writer_result = false;
    fiber_switch(&main_fiber, writer, NULL);
    CHECK(writer_result);
    fiber_release(&cache, writer);
    writer = fiber_acquire(&cache, writer_entry);
    writer_target = idle->guard_lo;
    writer_result = false;
    fiber_switch(&main_fiber, writer, NULL);
    CHECK(writer_result);
    fiber_release(&cache, writer);
    fiber_release(&cache, idle);
  }
  fiber_cache_destroy(&cache);
  fiber_source_destroy(&source);
  munmap(page, 4096);
  CHECK(faults_seen == 5);
}

static void child_fault_with_default(void) {
  signal(SIGSEGV, SIG_DFL);
  if (overflow_install() != 0 || overflow_thread_init() != 0) _exit(10);
  char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  *(volatile char *)page = 1;
}

static void child_kill_with_default(void) {
  signal(SIGSEGV, SIG_DFL);
  if (overflow_install() != 0 || overflow_thread_init() != 0) _exit(10);
  kill(getpid(), SIGSEGV);
}

static void test_default_action_kept(void) {
  char out[4096];
  int status = run_child(child_fault_with_default, out, sizeof out);
  CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
  CHECK(out[0] == '\0');
  status = run_child(child_kill_with_default, out, sizeof out);
  CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
  CHECK(out[0] == '\0');
}

/* ---- The alternate stack ---------------------------------------------- */

static void *altstack_thread(void *result) {
  /* Start without one (a sanitizer may have given the thread its own). */
  stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
  bool ok = sigaltstack(&ss, NULL) == 0;
  /* Ours: made, kept on a second call, removed by the teardown. */
  ok = ok && overflow_thread_init() == 0;
  ok = ok && sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE);
  void *first = ss.ss_sp;
  ok = ok && overflow_thread_init() == 0;
  ok = ok && sigaltstack(NULL, &ss) == 0 && ss.ss_sp == first && ss.ss_size >= 16384;
  overflow_thread_teardown();
  ok = ok && sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_DISABLE);
  overflow_thread_teardown(); /* harmless twice */
  /* The thread's own: left in place by both. */
  static char own[64 << 10];
  stack_t mine = {.ss_sp = own, .ss_size = sizeof own, .ss_flags = 0};
  ok = ok && sigaltstack(&mine, NULL) == 0;
  ok = ok && overflow_thread_init() == 0;
  ok = ok && sigaltstack(NULL, &ss) == 0 && ss.ss_sp == own;
  overflow_thread_teardown();
  ok = ok && sigaltstack(NULL, &ss) == 0 && ss.ss_sp == own && !(ss.ss_flags & SS_DISABLE);
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, NULL);
  *(bool *)result = ok;
  return NULL;
}

static void test_altstack(void) {
  pthread_t t;
  bool ok = false;
  CHECK(pthread_create(&t, NULL, altstack_thread, &ok) == 0 && pthread_join(t, NULL) == 0);
  CHECK(ok);
}

int main(void) {
#ifdef TEST_ASAN
  printf("overflow message: not checked under AddressSanitizer (it owns SIGSEGV)\n");
#else
  test_overflow_message(child_overflow_main_thread, "main thread");
  test_overflow_message(child_overflow_other_thread, "another thread");
#endif
  test_default_action_kept();
  test_altstack();
  test_faults_passed_on(); /* last: it installs the handler in this process */
  return check_report();
}
