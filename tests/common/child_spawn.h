/* Runs tests/semantics/child_helper (its path in SPOOL_TEST_CHILD, set by
 * meson) with posix_spawn, capturing its stderr: a test that needs a child
 * process with threads of its own starts a fresh program rather than
 * fork()ing its multi-threaded self, which the sanitizers do not survive
 * reliably. */
#ifndef SPOOL_TEST_CHILD_SPAWN_H
#define SPOOL_TEST_CHILD_SPAWN_H

#include <errno.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs the helper with argv[1..] = args (NULL-terminated); *status gets its
   wait status, err (size n) its stderr. False if it could not be run. */
static inline bool spawn_child_helper(const char *const *args, int *status, char *err, size_t n) {
  const char *path = getenv("SPOOL_TEST_CHILD");
  if (!path || !*path) return false;
  char *argv[8];
  size_t k = 0;
  argv[k++] = (char *)path;
  for (; args[k - 1] && k < 7; k++)
    argv[k] = (char *)args[k - 1];
  argv[k] = NULL;
  int fds[2];
  if (pipe(fds) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  pid_t pid;
  int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return false;
  }
  size_t len = 0;
  for (;;) {
    char spill[256];
    bool full = len + 1 >= n;
    ssize_t r = full ? read(fds[0], spill, sizeof spill) : read(fds[0], err + len, n - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (!full) len += (size_t)r;
  }
  if (n) err[len] = '\0';
  close(fds[0]);
  pid_t w;
  do
    w = waitpid(pid, status, 0);
  while (w < 0 && errno == EINTR);
  return w == pid;
}

#endif /* SPOOL_TEST_CHILD_SPAWN_H */
