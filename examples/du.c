/* du: a parallel `du -sb` (the apparent size in bytes of each directory
 * tree given), with a task per directory.
 *
 *   du DIR...     prints "BYTES<TAB>DIR" per DIR; exit status 0, or 1 when
 *                 some directory could not be read (each one is reported
 *                 on stderr, as du does), 2 on a runtime error
 *
 * How it works:
 *   - main() lstat()s each operand, adds its size, and submits one task for
 *     it: spool_submit_copy() copies the task's argument, a small struct
 *     ending in the path, into the task, so the caller's buffer is reused at
 *     once and the path lives exactly as long as the task;
 *   - a task reads its directory, adds the size of every entry to its
 *     operand's total (one atomic add per directory, not per file), and
 *     submits a task per subdirectory — fire and forget: nobody waits for a
 *     child;
 *   - main() calls spool_join(), which returns when every task and every
 *     task they submitted has finished. A task that cannot read its
 *     directory prints the reason and returns -errno: spool_join() returns
 *     the first such code, and an atomic counter counts them all.
 *
 * Like `du --apparent-size -b`, sizes are st_size as lstat() reports it, of
 * the operand, every directory and every entry (symbolic links are not
 * followed). Unlike du, a file with several hard links is counted once per
 * link. */
/* POSIX 2008 beyond C11 (fstatat, dirfd, nanosleep). */
#define _POSIX_C_SOURCE 200809L
#include <spool.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A task's argument: which operand it counts for, and its directory. */
typedef struct dir_task {
  atomic_llong *total; /* the operand's running total */
  char path[];         /* NUL-terminated; the copy holds exactly its length */
} dir_task;

static atomic_int unreadable_dirs;

static int count_dir(void *arg, void **result);

/* A task argument with room for any path, on the caller's stack; only
   offsetof(dir_task, path) + strlen + 1 bytes of it are copied. */
typedef union dir_task_buffer {
  dir_task task;
  char bytes[sizeof(dir_task) + PATH_MAX];
} dir_task_buffer;

/* Submits a task for the directory `parent`/`name` (or `parent` alone when
   name is NULL). Fails with -ENAMETOOLONG, or spool's code. */
static int submit_dir(spool_executor *ex, atomic_llong *total, const char *parent,
                      const char *name) {
  dir_task_buffer buffer;
  buffer.task.total = total;
  int len = name ? snprintf(buffer.task.path, PATH_MAX, "%s/%s", parent, name)
                 : snprintf(buffer.task.path, PATH_MAX, "%s", parent);
  if (len < 0 || len >= PATH_MAX) return -ENAMETOOLONG;
  return spool_submit_copy(ex, count_dir, &buffer, offsetof(dir_task, path) + (size_t)len + 1,
                           NULL);
}

static int report_unreadable(const char *path, int error) {
  fprintf(stderr, "du: cannot read directory '%s': %s\n", path, strerror(error));
  atomic_fetch_add_explicit(&unreadable_dirs, 1, memory_order_relaxed); /* read after join */
  return -error;
}

/* The task: adds the sizes of the entries of one directory and submits a
   task per subdirectory. `arg` is this task's own copy of a dir_task. */
static int count_dir(void *arg, void **result) {
  (void)result;
  dir_task *t = arg;
  DIR *dir = opendir(t->path);
  if (!dir) return report_unreadable(t->path, errno);
  spool_executor *ex = spool_current_executor();
  long long bytes = 0;
  int rc = 0;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(dir)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      fprintf(stderr, "du: cannot stat '%s/%s': %s\n", t->path, e->d_name, strerror(errno));
      if (!rc) rc = -errno;
      errno = 0;
      continue;
    }
    bytes += st.st_size;
    if (S_ISDIR(st.st_mode)) {
      int sub = submit_dir(ex, t->total, t->path, e->d_name);
      if (sub == -ENAMETOOLONG) { /* too deep for a path: name it as parent/name */
        fprintf(stderr, "du: cannot read directory '%s/%s': %s\n", t->path, e->d_name,
                strerror(ENAMETOOLONG));
        atomic_fetch_add_explicit(&unreadable_dirs, 1, memory_order_relaxed);
      }
      if (sub != 0 && !rc) rc = sub;
    }
    errno = 0;
  }
  if (errno != 0 && !rc) rc = report_unreadable(t->path, errno);
  closedir(dir);
  /* relaxed: the totals are read by main() after spool_join(), which orders
     everything the tasks did before its return. */
  atomic_fetch_add_explicit(t->total, bytes, memory_order_relaxed);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR...\n", argv[0]);
    return 2;
  }
  int operands = argc - 1;
  atomic_llong *totals = calloc((size_t)operands, sizeof *totals);
  if (!totals) return 2;

  spool_executor *ex;
  int rc = spool_executor_create(&ex, NULL);
  if (rc != SPOOL_OK) {
    fprintf(stderr, "spool_executor_create: %s\n", spool_strerror(rc));
    return 2;
  }
  int status = 0;
  for (int i = 0; i < operands; i++) {
    const char *path = argv[i + 1];
    struct stat st;
    if (lstat(path, &st) != 0) {
      fprintf(stderr, "du: cannot access '%s': %s\n", path, strerror(errno));
      status = 1;
      atomic_init(&totals[i], -1); /* no line for it, as du */
      continue;
    }
    atomic_init(&totals[i], st.st_size);
    if (!S_ISDIR(st.st_mode)) continue;
    rc = submit_dir(ex, &totals[i], path, NULL);
    if (rc == -ENAMETOOLONG) {
      report_unreadable(path, ENAMETOOLONG);
    } else if (rc != SPOOL_OK) {
      fprintf(stderr, "spool_submit_copy: %s\n", spool_strerror(rc));
      status = 2;
    }
  }
  /* Every task, and every task they submitted. A fire-and-forget task's
     nonzero return is reported here: the first one since the last join. */
  rc = spool_join(ex, SPOOL_FOREVER);
  spool_executor_destroy(ex);
  if (rc >= -10999 && rc <= -10001) { /* the runtime's own codes */
    fprintf(stderr, "spool_join: %s\n", spool_strerror(rc));
    status = 2;
  } else if (rc != SPOOL_OK && !status) { /* a task's -errno, reported by the task */
    status = 1;
  }

  for (int i = 0; i < operands; i++) {
    long long total = atomic_load_explicit(&totals[i], memory_order_relaxed);
    if (total >= 0) printf("%lld\t%s\n", total, argv[i + 1]);
  }
  int unreadable = atomic_load_explicit(&unreadable_dirs, memory_order_relaxed);
  if (unreadable > 0) {
    fprintf(stderr, "du: %d director%s could not be read\n", unreadable,
            unreadable == 1 ? "y" : "ies");
    if (!status) status = 1;
  }
  free(totals);
  return status;
}
