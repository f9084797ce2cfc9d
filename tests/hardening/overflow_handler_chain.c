/* Regression (issue 9, defect 5): the stack-overflow handler passes a
 * signal that is not an overflow on as the program's previous disposition
 * would have taken it. With SIG_IGN it re-raised a signal sent by kill()
 * under SIG_DFL, killing a program that ignores SIGSEGV; a disposition
 * that had SA_SIGINFO with SIG_IGN or SIG_DFL was taken for a function.
 *
 * Each case in a forked child (made before the parent has any thread) that
 * sets a disposition for SIGSEGV and SIGBUS, creates an executor (which
 * installs the handler), and sends itself the signal:
 *   1. SIG_IGN: kill() and raise() are ignored; the child exits 0.
 *   2. SIG_IGN with SA_SIGINFO: the same.
 *   3. a plain handler (no SA_SIGINFO): called with the signal number.
 *   4. an SA_SIGINFO handler: called with the sender's siginfo (SI_USER,
 *      our pid).
 *   5. SIG_IGN, then a real fault (a write to a read-only page): the
 *      kernel does not ignore a fault; the child dies of SIGSEGV.
 * Skipped under AddressSanitizer, which owns SIGSEGV (DESIGN.md,
 * "Testing"). */
#include <sys/mman.h>

#include "harness.h"

static volatile sig_atomic_t plain_calls, info_calls, info_ok;

static void plain_handler(int sig) {
  if (sig == SIGSEGV || sig == SIGBUS) plain_calls++;
}

static void info_handler(int sig, siginfo_t *info, void *uc) {
  (void)uc;
  info_calls++;
  if ((sig == SIGSEGV || sig == SIGBUS) && info->si_code == SI_USER && info->si_pid == getpid())
    info_ok++;
}

static void set_disposition(void (*handler)(int), void (*action)(int, siginfo_t *, void *),
                            int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  if (action)
    sa.sa_sigaction = action;
  else
    sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, NULL) != 0 || sigaction(SIGBUS, &sa, NULL) != 0) _exit(10);
}

static spool_executor *executor_installing_handler(void) {
  spool_config c;
  spool_config_init(&c);
  c.workers = 2;
  c.catch_stack_overflow = true;
  spool_executor *ex = NULL;
  if (spool_executor_create(&ex, &c) != SPOOL_OK) _exit(11);
  return ex;
}

static void send_all(void) {
  if (kill(getpid(), SIGSEGV) != 0) _exit(12);
  if (kill(getpid(), SIGBUS) != 0) _exit(13);
  if (raise(SIGSEGV) != 0) _exit(14);
}

static void child_ignored(void) {
  set_disposition(SIG_IGN, NULL, 0);
  spool_executor *ex = executor_installing_handler();
  send_all();
  spool_executor_destroy(ex);
  _exit(0);
}

static void child_ignored_siginfo(void) {
  set_disposition(SIG_IGN, NULL, SA_SIGINFO);
  spool_executor *ex = executor_installing_handler();
  send_all();
  spool_executor_destroy(ex);
  _exit(0);
}

static void child_plain_handler(void) {
  set_disposition(plain_handler, NULL, 0);
  spool_executor *ex = executor_installing_handler();
  send_all();
  spool_executor_destroy(ex);
  _exit(plain_calls == 3 ? 0 : 20 + plain_calls);
}

static void child_siginfo_handler(void) {
  set_disposition(NULL, info_handler, SA_SIGINFO);
  spool_executor *ex = executor_installing_handler();
  if (kill(getpid(), SIGSEGV) != 0 || kill(getpid(), SIGBUS) != 0) _exit(12);
  spool_executor_destroy(ex);
  _exit(info_calls == 2 && info_ok == 2 ? 0 : 30 + info_calls * 4 + info_ok);
}

static void child_ignored_fault(void) {
  set_disposition(SIG_IGN, NULL, 0);
  spool_executor *ex = executor_installing_handler();
  volatile char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) _exit(15);
  page[0] = 1; /* faults */
  spool_executor_destroy(ex);
  _exit(0);
}

static void expect_exit0(const char *name, void (*body)(void)) {
  harness_phase(name);
  harness_child_succeeds(body);
}

int main(void) {
#ifdef HARNESS_ASAN
  printf("skipped: AddressSanitizer owns SIGSEGV\n");
  return HARNESS_SKIP;
#endif
  expect_exit0("SIG_IGN: kill() and raise() are ignored", child_ignored);
  expect_exit0("SIG_IGN with SA_SIGINFO: ignored", child_ignored_siginfo);
  expect_exit0("a plain handler is called", child_plain_handler);
  expect_exit0("an SA_SIGINFO handler gets the sender's siginfo", child_siginfo_handler);
  harness_phase("SIG_IGN does not hide a real fault");
  child_outcome out;
  if (harness_run_child(child_ignored_fault, &out) &&
      !CHECK(WIFSIGNALED(out.status) && WTERMSIG(out.status) == SIGSEGV))
    fprintf(stderr, "child status %#x, stderr:\n%s\n", out.status, out.err);
  harness_watchdog_off();
  return harness_report();
}
