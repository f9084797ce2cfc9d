/* The stack-overflow handler. See overflow.h.
 *
 * Recognising an overflow. The handler must be async-signal-safe, so it
 * cannot take locks or walk the pools. It reads one thread-local, the note
 * of the fiber running on the faulting thread (SIGSEGV from a fault is
 * delivered to the thread that faulted), and checks the fault address
 * against that fiber's guard: nothing else is ours. The arch switch
 * writes the note between its last use of the suspending stack (pushing
 * the saved registers, where the suspending fiber may overflow) and its
 * first use of the resumed one, so the note always names the stack in use.
 * Writing it there, rather than in C after the switch, also keeps the
 * resumed side of fiber_switch() empty: the call to the switch is a tail
 * call, and no return after it mispredicts (measured on x86-64: 13 ns a
 * switch with the note written in C after the switch, 6 ns this way). The fiber the note names is
 * running or being switched to, so it is mapped and may be read.
 *
 * Passing faults on. A fault that is not ours goes to the handler that was
 * installed before this one, with the signal mask that handler asked for;
 * if that was SIG_DFL (or SIG_IGN, which the kernel does not honour for a
 * fault), the default is restored and the handler returns, so the faulting
 * instruction runs again and the default action kills the process with the
 * right signal. A signal sent with kill() to a program that ignores it stays
 * ignored. */
#include "overflow.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "fiber.h"

/* initial-exec: see overflow_running_fiber in overflow.h. */
#define TLS_INITIAL_EXEC __attribute__((tls_model("initial-exec")))

/* Atomic (relaxed) because a signal handler reads it: C11 7.14.1.1. The
   arch switch's plain store of an aligned pointer is such a store too. */
TLS_INITIAL_EXEC _Thread_local _Atomic(const fiber *) overflow_running_fiber;

/* The alternate signal stack this module mapped for this thread (its
   mapping, guard first), or NULL. Owner thread only. */
static TLS_INITIAL_EXEC _Thread_local char *altstack_map;
static TLS_INITIAL_EXEC _Thread_local size_t altstack_map_size;

/* The handlers that were installed before ours. Written once, before ours
   is installed (the sigaction() that installs it orders the writes before
   any delivery); read by the handler. */
static struct sigaction previous_segv, previous_bus;

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_result;
static int install_errno;

/* Decimal digits of v into buf (at least 21 bytes); returns the length.
   snprintf is not async-signal-safe. */
static size_t format_unsigned(char *buf, size_t v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++)
    buf[i] = tmp[n - 1 - i];
  return n;
}

static size_t append(char *buf, size_t at, const char *s) {
  while (*s)
    buf[at++] = *s++;
  return at;
}

static void write_all(int fd, const char *buf, size_t len) {
  while (len) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; /* nowhere to report it; abort anyway */
    buf += n;
    len -= (size_t)n;
  }
}

static _Noreturn void report_overflow(const fiber *f) {
  char line[400];
  size_t at = append(line, 0, "spool: a task overflowed its fiber stack (");
  at += format_unsigned(line + at, f->stack_size);
  /* relaxed: written by this thread (fiber.h) */
  if (atomic_load_explicit(&f->unparked_waits, memory_order_relaxed))
    /* Waits nested at the max_fibers cap found no stack to park on: a
       larger stack only postpones this. */
    at = append(line, at,
                " bytes) under waits nested at the max_fibers cap that could not park: mapping a "
                "new fiber stack failed (raise vm.max_map_count or the memory limit, or have "
                "fewer tasks waiting at once; a larger SPOOL_STACK_SIZE or "
                "spool_config.fiber_stack_size only postpones it)\n");
  else
    at = append(line, at, " bytes); raise spool_config.fiber_stack_size or SPOOL_STACK_SIZE\n");
  write_all(STDERR_FILENO, line, at);
  abort();
}

/* Runs the previous handler of `sig` as the kernel would have. */
static void pass_on(int sig, siginfo_t *info, void *ucontext) {
  const struct sigaction *prev = sig == SIGBUS ? &previous_bus : &previous_segv;
  bool siginfo = prev->sa_flags & SA_SIGINFO;
  /* SIG_DFL and SIG_IGN whatever the flags: a disposition set with
     SA_SIGINFO and SIG_IGN has no function to call (sa_handler and
     sa_sigaction share their storage). */
  bool ignored = prev->sa_handler == SIG_IGN;
  /* A signal sent by kill(), sigqueue() or raise() (si_code <= 0) to a
     program that ignores it is ignored, as the kernel would have; a fault
     is not (the kernel kills a process that ignores a fault). */
  if (ignored && info->si_code <= 0) return;
  if (ignored || prev->sa_handler == SIG_DFL) {
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    /* A fault re-executes the instruction on return and dies of the
       default. A signal sent by kill() or raise() (si_code <= 0) would not
       come back: send it again; it stays blocked, hence pending, until this
       handler returns. */
    if (info->si_code <= 0) raise(sig);
    return;
  }
  /* The mask the previous handler asked for: the interrupted code's mask,
     plus its sa_mask, plus the signal itself unless SA_NODEFER. */
  sigset_t mask = ((ucontext_t *)ucontext)->uc_sigmask;
  for (int s = 1; s < NSIG; s++)
    if (sigismember(&prev->sa_mask, s) == 1) sigaddset(&mask, s);
  if (!(prev->sa_flags & SA_NODEFER)) sigaddset(&mask, sig);
  pthread_sigmask(SIG_SETMASK, &mask, NULL);
  /* Read the handler before SA_RESETHAND replaces the disposition; prev is
     our own copy, so this only matters for what the kernel does next. */
  void (*handler)(int) = prev->sa_handler;
  void (*action)(int, siginfo_t *, void *) = prev->sa_sigaction;
  if (prev->sa_flags & SA_RESETHAND) {
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
  }
  if (siginfo)
    action(sig, info, ucontext);
  else
    handler(sig);
}

static void overflow_handler(int sig, siginfo_t *info, void *ucontext) {
  /* relaxed: written by this same thread, before the fault */
  const fiber *f = atomic_load_explicit(&overflow_running_fiber, memory_order_relaxed);
  uintptr_t addr = (uintptr_t)info->si_addr;
  /* Only a fault the kernel raised (si_code > 0) has an address: for a
     signal sent by kill() or sigqueue() (si_code <= 0) the same storage
     holds the sender's pid, uid or value, which may happen to look like a
     guard address. Unsigned wrap-around makes the second test a range
     check. */
  if (info->si_code > 0 && f && f->guard_size && addr - (uintptr_t)f->guard_lo < f->guard_size)
    report_overflow(f);
  pass_on(sig, info, ucontext);
}

static int install_one(int sig, struct sigaction *previous) {
  /* Read the previous disposition first and install ours second, so the
     handler never sees `previous` half-written. */
  if (sigaction(sig, NULL, previous) != 0) return -1;
  struct sigaction sa = {.sa_sigaction = overflow_handler};
  /* SA_ONSTACK: the faulting stack is full. No SA_NODEFER: a fault inside
     the handler then kills the process instead of recursing. */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL);
}

static void install_handlers(void) {
  install_result = install_one(SIGSEGV, &previous_segv);
  if (install_result == 0) install_result = install_one(SIGBUS, &previous_bus);
  install_errno = install_result ? errno : 0;
}

int overflow_install(void) {
  pthread_once(&install_once, install_handlers);
  if (install_result) errno = install_errno;
  return install_result;
}

int overflow_thread_init(void) {
  if (altstack_map) return 0;
  stack_t current;
  /* A thread that has an alternate stack (its own, or a sanitizer's) keeps
     it: the handler runs on any. */
  if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return 0;
  long page = sysconf(_SC_PAGESIZE);
  /* 64 KiB: the handler needs little, but the previous handler it passes
     faults to (a crash reporter, say) runs on this stack too. */
  size_t size = (size_t)64 << 10;
#ifdef _SC_SIGSTKSZ
  long wanted = sysconf(_SC_SIGSTKSZ);
  if (wanted > 0 && (size_t)wanted > size) size = (size_t)wanted;
#endif
  size = (size + (size_t)page - 1) & ~((size_t)page - 1);
  size_t map_size = size + (size_t)page;
  char *map =
      mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (map == MAP_FAILED) goto fail;
  /* A guard below it, so a handler that overflows it faults cleanly. */
  if (mprotect(map, (size_t)page, PROT_NONE) != 0) goto fail_unmap;
  stack_t ss = {.ss_sp = map + page, .ss_size = size, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) goto fail_unmap;
  altstack_map = map;
  altstack_map_size = map_size;
  return 0;
fail_unmap:
  munmap(map, map_size);
fail:
  errno = ENOMEM;
  return -1;
}

void overflow_thread_teardown(void) {
  if (!altstack_map) return;
  stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
  sigaltstack(&ss, NULL);
  munmap(altstack_map, altstack_map_size);
  altstack_map = NULL;
  altstack_map_size = 0;
}
