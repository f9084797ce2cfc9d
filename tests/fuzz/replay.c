/* Replays fuzz inputs through a target's LLVMFuzzerTestOneInput without
 * libFuzzer, so the checked-in corpus and every crash reproducer
 * (tests/fuzz/regressions/<target>/) run as regression tests in every build,
 * GCC's included.
 *
 *   replay_<target> PATH...   each PATH a file, or a directory whose files
 *                             are replayed in name order
 *
 * A failing input aborts (FUZZ_CHECK, or a sanitizer), naming the file on
 * stderr first. Ends with "N passed, 0 failed". */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static unsigned replayed;

static void replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  size_t cap = 4096, len = 0;
  uint8_t *data = malloc(cap);
  size_t got;
  while (data && (got = fread(data + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) data = realloc(data, cap *= 2);
  }
  fclose(f);
  if (!data) {
    fprintf(stderr, "%s: out of memory\n", path);
    exit(1);
  }
  fprintf(stderr, "replay: %s\n", path);
  LLVMFuzzerTestOneInput(data, len);
  free(data);
  replayed++;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static void replay_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    exit(1);
  }
  if (!S_ISDIR(st.st_mode)) {
    replay_file(path);
    return;
  }
  struct dirent **names;
  int n = scandir(path, &names, NULL, by_name);
  if (n < 0) {
    perror(path);
    exit(1);
  }
  for (int i = 0; i < n; i++) {
    if (names[i]->d_name[0] != '.') {
      char file[4096];
      snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
      replay_path(file);
    }
    free(names[i]);
  }
  free(names);
}

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++)
    replay_path(argv[i]);
  printf("%u passed, 0 failed\n", replayed);
  return replayed ? 0 : 1; /* replaying nothing is a broken setup */
}
