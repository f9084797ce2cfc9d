/* The library's SIGSEGV/SIGBUS handler outlives dlclose().
 *
 * spool installs a process-wide handler (stack overflows) the first time an
 * executor is created, and never removes it: other threads may fault at any
 * time, and the handler passes every other fault to the one installed
 * before it. A program that loaded libspool with dlopen() and unloaded it
 * with dlclose() was left with a handler in unmapped code, so its next
 * fault (one its own handler would have recovered from) killed it (found by
 * review). The library is now linked with -z nodelete: dlclose() leaves it
 * mapped.
 *
 * This program is not linked with spool: it installs a handler that makes
 * a page writable, loads the library given as argv[1], creates and destroys
 * an executor, unloads the library, then writes to a PROT_NONE page.
 * Checks: the installed handler still lies in a mapped object, and the
 * program's own handler ran and the write went through. Before the fix the
 * process died of SIGSEGV at the write. */
#include <dlfcn.h>
#include <sys/mman.h>

#include "harness.h"

static char *page;
static long page_bytes;
static volatile sig_atomic_t faults;

static void make_writable(int sig, siginfo_t *info, void *ucontext) {
  (void)sig;
  (void)info;
  (void)ucontext;
  faults++;
  mprotect(page, (size_t)page_bytes, PROT_READ | PROT_WRITE);
}

int main(int argc, char **argv) {
  if (!CHECK(argc == 2)) return harness_report();
  harness_phase("the fault handler after dlclose()");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = make_writable;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);

  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!CHECK(lib != NULL)) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return harness_report();
  }
  void (*config_init)(spool_config *) =
      (void (*)(spool_config *))(uintptr_t)dlsym(lib, "spool_config_init");
  int (*create)(spool_executor **, const spool_config *) =
      (int (*)(spool_executor **, const spool_config *))(uintptr_t)dlsym(lib,
                                                                         "spool_executor_create");
  void (*destroy)(spool_executor *) =
      (void (*)(spool_executor *))(uintptr_t)dlsym(lib, "spool_executor_destroy");
  if (CHECK(config_init && create && destroy)) {
    spool_config c;
    config_init(&c);
    c.workers = 1;
    spool_executor *ex = NULL;
    if (CHECK(create(&ex, &c) == SPOOL_OK)) destroy(ex);
  }
  CHECK(dlclose(lib) == 0);

  struct sigaction now;
  CHECK(sigaction(SIGSEGV, NULL, &now) == 0);
  Dl_info where;
  CHECK(dladdr((void *)(uintptr_t)now.sa_sigaction, &where) != 0); /* still mapped */

  page_bytes = sysconf(_SC_PAGESIZE);
  page = mmap(NULL, (size_t)page_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (CHECK(page != MAP_FAILED)) {
    *(volatile char *)page = 1; /* through spool's handler to ours, then again */
    CHECK_EQ(faults, 1);
    CHECK_EQ(*(volatile char *)page, 1);
  }
  harness_watchdog_off();
  return harness_report();
}
