/* Allocation-failure injection: the functions the faults build of the
 * library calls instead of the allocator, mmap, pthread_create and hwloc
 * (see inject.h for how, and for the environment).
 *
 * Each function counts the call, fails it when the counter says so (as the
 * real call fails when memory runs out: NULL, MAP_FAILED, EAGAIN, -1, with
 * errno ENOMEM), and otherwise calls the real function and records what it
 * acquired, with the library function that asked for it (dladdr on the
 * return address; the program is linked with -rdynamic). */
#include "inject.h"

#include <dlfcn.h>
#include <errno.h>
#include <hwloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- When to fail --------------------------------------------------------- */

enum { MODE_ONESHOT, MODE_PERSISTENT };

static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static uint64_t fail_at; /* 0: never */
static int fail_mode;
/* relaxed: plain counters; the test reads them after joining the threads
   that made the calls (or after the library did, in destroy). */
static _Atomic uint64_t calls, injected;

static void config_read(void) {
  const char *at = getenv("SPOOL_FAULT_AT");
  const char *mode = getenv("SPOOL_FAULT_MODE");
  if (at && *at) {
    char *end;
    fail_at = strtoull(at, &end, 10);
    if (*end) {
      fprintf(stderr, "SPOOL_FAULT_AT=%s: not a number\n", at);
      abort();
    }
  }
  if (mode && !strcmp(mode, "persistent"))
    fail_mode = MODE_PERSISTENT;
  else if (mode && *mode && strcmp(mode, "oneshot")) {
    fprintf(stderr, "SPOOL_FAULT_MODE=%s: oneshot or persistent\n", mode);
    abort();
  }
}

static void site_name(void *site, char *out, size_t size) {
  Dl_info info;
  if (!dladdr(site, &info))
    snprintf(out, size, "%p", site);
  else if (info.dli_sname)
    snprintf(out, size, "%s+0x%zx", info.dli_sname,
             (size_t)((char *)site - (char *)info.dli_saddr));
  else /* a static function: the offset in the program, for addr2line */
    snprintf(out, size, "@0x%zx", (size_t)((char *)site - (char *)info.dli_fbase));
}

/* Counts one call; true if it is to fail. */
static bool should_fail(const char *what, size_t size, void *site) {
  pthread_once(&config_once, config_read);
  uint64_t n = atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed) + 1;
  bool fail = fail_at != 0 && (n == fail_at || (fail_mode == MODE_PERSISTENT && n > fail_at));
  if (!fail) return false;
  uint64_t k = atomic_fetch_add_explicit(&injected, 1, memory_order_relaxed);
  if (k == 0) { /* the first one names the site the sweep is testing */
    char name[256];
    site_name(site, name, sizeof name);
    fprintf(stderr, "fault-injected: call %llu, %s(%zu) from %s\n", (unsigned long long)n, what,
            size, name);
  }
  return true;
}

uint64_t fault_calls(void) {
  return atomic_load_explicit(&calls, memory_order_relaxed);
}
uint64_t fault_injected(void) {
  return atomic_load_explicit(&injected, memory_order_relaxed);
}

/* ---- What the library holds ----------------------------------------------- */

typedef enum { HELD_HEAP, HELD_MAPPING, HELD_THREAD, HELD_BITMAP, HELD_TOPOLOGY } held_kind;
static const char *const held_names[] = {"heap block", "mapping", "unjoined thread", "hwloc bitmap",
                                         "hwloc topology"};

typedef struct held {
  uintptr_t key;
  held_kind kind;
  size_t size;
  void *site;
  struct held *next;
} held;

#define HELD_BUCKETS 4096
static held *held_table[HELD_BUCKETS];
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t bucket_of(uintptr_t key) {
  return (key >> 4) * 0x9E3779B97F4A7C15ull >> 52;
}

static void held_add(held_kind kind, uintptr_t key, size_t size, void *site) {
  held *h = malloc(sizeof *h); /* the program's malloc: not counted */
  if (!h) abort();
  h->key = key;
  h->kind = kind;
  h->size = size;
  h->site = site;
  pthread_mutex_lock(&held_lock);
  size_t b = bucket_of(key);
  h->next = held_table[b];
  held_table[b] = h;
  pthread_mutex_unlock(&held_lock);
}

/* Forgets the record of `key`; false if there was none. */
static bool held_remove(held_kind kind, uintptr_t key) {
  pthread_mutex_lock(&held_lock);
  held **p = &held_table[bucket_of(key)];
  while (*p && !((*p)->key == key && (*p)->kind == kind))
    p = &(*p)->next;
  held *h = *p;
  if (h) *p = h->next;
  pthread_mutex_unlock(&held_lock);
  free(h);
  return h != NULL;
}

unsigned fault_report_leaks(void) {
  unsigned n = 0;
  pthread_mutex_lock(&held_lock);
  for (size_t b = 0; b < HELD_BUCKETS; b++) {
    for (held *h = held_table[b]; h; h = h->next) {
      char name[256];
      site_name(h->site, name, sizeof name);
      fprintf(stderr, "fault-leak: %s of %zu bytes from %s\n", held_names[h->kind], h->size, name);
      n++;
    }
  }
  pthread_mutex_unlock(&held_lock);
  return n;
}

/* ---- The allocator ------------------------------------------------------- */

#define SITE __builtin_return_address(0)

void *spool_fault_malloc(size_t size);
void *spool_fault_calloc(size_t n, size_t size);
void *spool_fault_realloc(void *p, size_t size);
void spool_fault_free(void *p);
void *spool_fault_aligned_alloc(size_t align, size_t size);
int spool_fault_posix_memalign(void **out, size_t align, size_t size);

void *spool_fault_malloc(size_t size) {
  if (should_fail("malloc", size, SITE)) {
    errno = ENOMEM;
    return NULL;
  }
  void *p = malloc(size);
  if (p) held_add(HELD_HEAP, (uintptr_t)p, size, SITE);
  return p;
}

void *spool_fault_calloc(size_t n, size_t size) {
  if (should_fail("calloc", n * size, SITE)) {
    errno = ENOMEM;
    return NULL;
  }
  void *p = calloc(n, size);
  if (p) held_add(HELD_HEAP, (uintptr_t)p, n * size, SITE);
  return p;
}

void *spool_fault_realloc(void *old, size_t size) {
  if (should_fail("realloc", size, SITE)) {
    errno = ENOMEM;
    return NULL; /* the old block stays valid, as with the real realloc */
  }
  /* Forget the old block first: it is gone once realloc succeeds. */
  bool had = old && held_remove(HELD_HEAP, (uintptr_t)old);
  void *p = realloc(old, size);
  if (p)
    held_add(HELD_HEAP, (uintptr_t)p, size, SITE);
  else if (had && size != 0)
    held_add(HELD_HEAP, (uintptr_t)old, 0, SITE); /* still held */
  return p;
}

void spool_fault_free(void *p) {
  if (!p) return;
  if (!held_remove(HELD_HEAP, (uintptr_t)p)) {
    char name[256];
    site_name(SITE, name, sizeof name);
    fprintf(stderr, "fault-error: free(%p) of a block the library never allocated, from %s\n", p,
            name);
    abort();
  }
  free(p);
}

void *spool_fault_aligned_alloc(size_t align, size_t size) {
  if (should_fail("aligned_alloc", size, SITE)) {
    errno = ENOMEM;
    return NULL;
  }
  void *p = aligned_alloc(align, size);
  if (p) held_add(HELD_HEAP, (uintptr_t)p, size, SITE);
  return p;
}

int spool_fault_posix_memalign(void **out, size_t align, size_t size) {
  if (should_fail("posix_memalign", size, SITE)) return ENOMEM;
  int rc = posix_memalign(out, align, size);
  if (rc == 0) held_add(HELD_HEAP, (uintptr_t)*out, size, SITE);
  return rc;
}

/* ---- Mappings ------------------------------------------------------------ */

void *spool_fault_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *spool_fault_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int spool_fault_munmap(void *addr, size_t len);
int spool_fault_mprotect(void *addr, size_t len, int prot);

/* relaxed: a switch the program sets before it starts the work that
   should see it (inject.h); no data is published through it. */
static _Atomic bool mappings_refused;

void fault_refuse_mappings(bool refuse) {
  atomic_store_explicit(&mappings_refused, refuse, memory_order_relaxed);
}

static void *mapping_new(void *addr, size_t len, int prot, int flags, int fd, off_t off,
                         void *site) {
  /* relaxed: see mappings_refused */
  if (should_fail("mmap", len, site) ||
      atomic_load_explicit(&mappings_refused, memory_order_relaxed)) {
    errno = ENOMEM;
    return MAP_FAILED;
  }
  void *p = mmap(addr, len, prot, flags, fd, off);
  if (p != MAP_FAILED) held_add(HELD_MAPPING, (uintptr_t)p, len, site);
  return p;
}

void *spool_fault_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  return mapping_new(addr, len, prot, flags, fd, off, SITE);
}

void *spool_fault_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  return mapping_new(addr, len, prot, flags, fd, off, SITE);
}

/* The library unmaps whole mappings; a partial unmap would show as a leak
   of the rest, or an unknown address, and both are reported. */
int spool_fault_munmap(void *addr, size_t len) {
  int rc = munmap(addr, len);
  if (rc == 0 && !held_remove(HELD_MAPPING, (uintptr_t)addr)) {
    char name[256];
    site_name(SITE, name, sizeof name);
    fprintf(stderr, "fault-error: munmap(%p, %zu) of no mapping the library made, from %s\n", addr,
            len, name);
    abort();
  }
  return rc;
}

/* mprotect fails when the process is out of mappings (splitting one needs
   a new one), which is an out-of-memory case too. */
int spool_fault_mprotect(void *addr, size_t len, int prot) {
  if (should_fail("mprotect", len, SITE)) {
    errno = ENOMEM;
    return -1;
  }
  return mprotect(addr, len, prot);
}

/* ---- Threads ------------------------------------------------------------- */

int spool_fault_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                               void *arg);
int spool_fault_pthread_join(pthread_t t, void **ret);
int spool_fault_pthread_detach(pthread_t t);

int spool_fault_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                               void *arg) {
  if (should_fail("pthread_create", 0, SITE)) return EAGAIN;
  int rc = pthread_create(t, attr, fn, arg);
  if (rc == 0) held_add(HELD_THREAD, (uintptr_t)*t, 0, SITE);
  return rc;
}

int spool_fault_pthread_join(pthread_t t, void **ret) {
  int rc = pthread_join(t, ret);
  if (rc == 0) held_remove(HELD_THREAD, (uintptr_t)t);
  return rc;
}

int spool_fault_pthread_detach(pthread_t t) {
  int rc = pthread_detach(t);
  if (rc == 0) held_remove(HELD_THREAD, (uintptr_t)t);
  return rc;
}

/* ---- hwloc: the calls of the library that allocate ------------------------ */

int spool_fault_hwloc_topology_init(hwloc_topology_t *topo);
int spool_fault_hwloc_topology_load(hwloc_topology_t topo);
void spool_fault_hwloc_topology_destroy(hwloc_topology_t topo);
hwloc_bitmap_t spool_fault_hwloc_bitmap_alloc(void);
hwloc_bitmap_t spool_fault_hwloc_bitmap_dup(hwloc_const_bitmap_t b);
void spool_fault_hwloc_bitmap_free(hwloc_bitmap_t b);

int spool_fault_hwloc_topology_init(hwloc_topology_t *topo) {
  if (should_fail("hwloc_topology_init", 0, SITE)) {
    errno = ENOMEM;
    return -1;
  }
  int rc = hwloc_topology_init(topo);
  if (rc == 0) held_add(HELD_TOPOLOGY, (uintptr_t)*topo, 0, SITE);
  return rc;
}

/* A failed load leaves the topology initialised but not loaded, which
   hwloc_topology_destroy accepts, as after a real failure. */
int spool_fault_hwloc_topology_load(hwloc_topology_t topo) {
  if (should_fail("hwloc_topology_load", 0, SITE)) {
    errno = ENOMEM;
    return -1;
  }
  return hwloc_topology_load(topo);
}

void spool_fault_hwloc_topology_destroy(hwloc_topology_t topo) {
  held_remove(HELD_TOPOLOGY, (uintptr_t)topo);
  hwloc_topology_destroy(topo);
}

hwloc_bitmap_t spool_fault_hwloc_bitmap_alloc(void) {
  if (should_fail("hwloc_bitmap_alloc", 0, SITE)) {
    errno = ENOMEM;
    return NULL;
  }
  hwloc_bitmap_t b = hwloc_bitmap_alloc();
  if (b) held_add(HELD_BITMAP, (uintptr_t)b, 0, SITE);
  return b;
}

hwloc_bitmap_t spool_fault_hwloc_bitmap_dup(hwloc_const_bitmap_t src) {
  if (should_fail("hwloc_bitmap_dup", 0, SITE)) {
    errno = ENOMEM;
    return NULL;
  }
  hwloc_bitmap_t b = hwloc_bitmap_dup(src);
  if (b) held_add(HELD_BITMAP, (uintptr_t)b, 0, SITE);
  return b;
}

void spool_fault_hwloc_bitmap_free(hwloc_bitmap_t b) {
  if (b) held_remove(HELD_BITMAP, (uintptr_t)b);
  hwloc_bitmap_free(b);
}
