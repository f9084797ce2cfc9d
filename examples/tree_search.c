/* tree_search: a parallel search of a tree by fire-and-forget tasks and
 * spool_join() — the example of the betterconcurrent project.
 *
 * The tree is generated, not stored: a node is its 64-bit id and its depth;
 * its children's ids and its key are hashes of its id, so the same tree comes
 * out on every run and machine (about a million nodes with the defaults).
 * The program looks for the node whose key is a given value:
 *
 *   1. main() submits one task for the root and calls spool_join(), which
 *      returns when every task, and every task those tasks submitted, has
 *      finished.
 *   2. A task checks its node; if it is not the one, it submits a task per
 *      child (spool_submit_copy: the child's 16 bytes are copied into the new
 *      task, so the parent's stack may go) and returns without waiting for
 *      them: nobody holds a future, nobody waits for a child.
 *   3. The first task to find the key publishes the node; every task checks
 *      that flag first, so the search winds down soon after.
 *
 * Near the leaves a task searches its subtree serially: a task costs a
 * submit (about 100 ns), so each should do at least a few microseconds of
 * work.
 *
 *   tree_search            search for the key of a node picked at depth 12
 *   tree_search KEY        search for KEY (hexadecimal)
 *
 * It prints the node found, then searches again serially and exits 0 when
 * both searches found the same node (1 otherwise, 2 on an error). */
#include <spool.h>

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

enum {
  MAX_DEPTH = 16,    /* nodes at this depth are leaves */
  SERIAL_BELOW = 12, /* a task at this depth or deeper searches serially */
};

typedef struct node {
  uint64_t id;
  int depth;
} node;

/* splitmix64's finaliser: a cheap, well-mixed hash. */
static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

static uint64_t node_key(const node *n) {
  return mix(n->id ^ 0x6b6579u);
}

/* 0 to 5 children (2.5 on average), none at MAX_DEPTH. The root has 5, so
   the tree is never trivially small. */
static int node_children(const node *n) {
  if (n->depth >= MAX_DEPTH) return 0;
  if (n->depth == 0) return 5;
  return (int)(mix(n->id) % 6);
}

static node node_child(const node *n, int i) {
  return (node){mix(n->id * 31 + (uint64_t)i + 1), n->depth + 1};
}

/* ---- The search's shared state ------------------------------------------ */

static uint64_t target_key;
static atomic_flag found_claimed = ATOMIC_FLAG_INIT;
static atomic_bool found_flag;
static node found_node;            /* written once, by the finder */
static atomic_uint_fast64_t tasks; /* how many tasks ran: to show the effect */

/* Claims the find: only the first finder writes found_node. */
static void report_found(const node *n) {
  if (atomic_flag_test_and_set_explicit(&found_claimed, memory_order_relaxed)) return;
  found_node = *n;
  /* release: pairs with the acquire loads in the tasks and in main(), which
     read found_node only after seeing the flag (main() also after
     spool_join(), which orders everything the tasks did). */
  atomic_store_explicit(&found_flag, true, memory_order_release);
}

/* Depth-first, serially: true when the node was found below n. */
static bool search_serial(const node *n) {
  if (node_key(n) == target_key) {
    report_found(n);
    return true;
  }
  int k = node_children(n);
  for (int i = 0; i < k; i++) {
    node c = node_child(n, i);
    if (search_serial(&c)) return true;
  }
  return false;
}

/* The task: `arg` is this task's own copy of a node. */
static int search_task(void *arg, void **result) {
  (void)result;
  const node *n = arg;
  atomic_fetch_add_explicit(&tasks, 1, memory_order_relaxed);
  if (atomic_load_explicit(&found_flag, memory_order_acquire)) return 0; /* someone won */
  if (n->depth >= SERIAL_BELOW) {
    search_serial(n);
    return 0;
  }
  if (node_key(n) == target_key) {
    report_found(n);
    return 0;
  }
  spool_executor *ex = spool_current_executor();
  int k = node_children(n);
  for (int i = 0; i < k; i++) {
    node c = node_child(n, i);
    /* Fire and forget (no future): a failure would be reported by
       spool_join(); returning it here makes spool_join() see it too. */
    int rc = spool_submit_copy(ex, search_task, &c, sizeof c, NULL);
    if (rc != SPOOL_OK) return rc;
  }
  return 0;
}

static int child_count(const node *n, int i) {
  node c = node_child(n, i);
  return node_children(&c);
}

/* The default target: the key of a node at depth 12, reached from the root
   by taking, at every level, the first child that has children of its own.
   Found without a search. */
static uint64_t default_target(void) {
  node n = {0x5eed, 0};
  while (n.depth < 12) {
    int k = node_children(&n), i = 0;
    while (i < k - 1 && child_count(&n, i) == 0)
      i++;
    n = node_child(&n, i);
  }
  return node_key(&n);
}

int main(int argc, char **argv) {
  target_key = default_target();
  if (argc > 1) {
    char *end;
    target_key = strtoull(argv[1], &end, 16);
    if (*argv[1] == '\0' || *end != '\0') {
      fprintf(stderr, "usage: %s [KEY in hexadecimal]\n", argv[0]);
      return 2;
    }
  }

  spool_executor *ex;
  int rc = spool_executor_create(&ex, NULL); /* one worker per hardware thread */
  if (rc != SPOOL_OK) {
    fprintf(stderr, "spool_executor_create: %s\n", spool_strerror(rc));
    return 2;
  }
  node root = {0x5eed, 0};
  rc = spool_submit_copy(ex, search_task, &root, sizeof root, NULL);
  if (rc == SPOOL_OK) rc = spool_join(ex, SPOOL_FOREVER); /* every task, transitively */
  unsigned workers = spool_executor_workers(ex);
  spool_executor_destroy(ex);
  if (rc != SPOOL_OK) {
    fprintf(stderr, "search failed: %s\n", spool_strerror(rc));
    return 2;
  }

  bool parallel_found = atomic_load_explicit(&found_flag, memory_order_acquire);
  node parallel = found_node;
  printf("searched for key %016" PRIx64 " with %u workers, %" PRIuFAST64 " tasks\n", target_key,
         workers, atomic_load_explicit(&tasks, memory_order_relaxed));
  if (parallel_found)
    printf("found node %016" PRIx64 " at depth %d\n", parallel.id, parallel.depth);
  else
    printf("not found\n");

  /* The check: a serial search of the same tree must agree. */
  atomic_flag_clear_explicit(&found_claimed, memory_order_relaxed);
  atomic_store_explicit(&found_flag, false, memory_order_relaxed);
  found_node = (node){0, -1};
  bool serial_found = search_serial(&root);
  bool agree =
      serial_found == parallel_found &&
      (!serial_found || (found_node.id == parallel.id && found_node.depth == parallel.depth));
  printf("serial search %s\n", agree ? "agrees" : "DISAGREES");
  return agree ? 0 : 1;
}
