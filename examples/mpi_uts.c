/* mpi_uts: the Unbalanced Tree Search benchmark's tree T1 counted by several
 * processes (MPI ranks, one per machine or per socket), each exploring with
 * a spool executor inside — the MPI + threads shape of MPI + OpenMP codes.
 *
 *   mpirun -np 2 mpi_uts          T1: 4,130,071 nodes (the default)
 *   mpirun -np 4 mpi_uts T1L      T1L: 102,181,082 nodes
 *   mpirun -host a,b -np 2 mpi_uts   across machines (see README.md)
 *
 * Exits 0 when the count matches the published one (Olivier et al., "UTS:
 * An Unbalanced Tree Search Benchmark", LCPC 2006), 1 when it does not, 2
 * on an error. Rank 0 prints the count, the time and each rank's share.
 *
 * THE TREE. A node is a SHA-1 digest; a child's digest is SHA-1 of its
 * parent's digest and its index; a node's child count follows from its
 * digest (geometric, mean 4, none at depth 10 for T1). The tree is never
 * stored, and its shape is known only by exploring it: how much work lies
 * below a node is unknown, so a static split of the top levels across ranks
 * leaves some idle long before others. Hence work stealing between ranks.
 * The functions uts_root, uts_child and uts_children are those of
 * perf/uts/uts.c in this repository, copied here so that the example
 * stands alone.
 *
 * INSIDE A RANK. spool does the balancing among the rank's workers: a node
 * received is explored by a fire-and-forget task (spool_submit_copy), which
 * forks a task per child (spool_fork/spool_sync) and adds its subtree's
 * count to the rank's total. Worker threads never call MPI; only main()
 * does (MPI_THREAD_FUNNELED).
 *
 * BETWEEN RANKS: work stealing by request and reply, driven by main(),
 * which loops: receive messages, hand out donated work, poll the executor
 * (spool_join with a 1 ms timeout), then:
 *   1. A rank with no work (spool_join returned OK) sends REQUEST to one
 *      other rank (round-robin) and waits for its reply before asking again.
 *   2. A rank that receives REQUEST while busy notes the requester and
 *      raises `donations_wanted`. A task about to fork the children of a
 *      node near the top (more than 6 levels above the leaves: a subtree
 *      worth sending) claims one wanted donation, if there is one, and puts
 *      the second half of its children in the rank's outbox instead of
 *      forking them. main() sends
 *      the outbox to the requester as a WORK message (24 bytes per node).
 *      A rank with no work answers NO_WORK at once; a rank whose work runs
 *      out with requests pending answers them NO_WORK.
 *   3. Donated nodes are not counted by the donor: whoever explores a node
 *      counts it and its subtree, so each node is counted exactly once.
 * Steal requests go one at a time per rank, so a rank has at most
 * (ranks - 1) pending requesters, and a reply always comes.
 *
 * TERMINATION: Mattern's four-counter method on a ring. Every rank counts
 * the WORK messages it sent and received. When rank 0 has no work it sends
 * a token around the ring; each rank adds its two counts to the token when
 * it has no work (holding the token until then) and forwards it. When the
 * token returns to rank 0 (and rank 0 has no work), rank 0 adds its own
 * counts. If two successive waves saw sent == received and the same
 * numbers, no work was in flight and every rank was idle between the two
 * waves (a rank becomes busy again only by receiving WORK, which would have
 * changed a count), so the exploration is over: rank 0 sends DONE to all.
 * Then every rank keeps answering REQUEST with NO_WORK until it has the
 * reply to its own request, enters a non-blocking barrier and goes on
 * answering until the barrier completes, so no message is left unmatched;
 * and MPI_Reduce adds up the counts. */

/* POSIX 2008 beyond C11 (fstatat, dirfd, nanosleep). */
#define _POSIX_C_SOURCE 200809L

/* SHA1_Init/Update/Final: deprecated in OpenSSL 3 in favour of EVP, whose
   per-call set-up costs several times a 24-byte hash (see perf/uts/uts.c). */
#define OPENSSL_API_COMPAT 0x10100000L
#include <mpi.h>
#include <openssl/sha.h>
#include <spool.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- The tree (from perf/uts/uts.c) -------------------------------------- */

enum { UTS_MAX_CHILDREN = 100 };

typedef struct uts_tree {
  const char *name;
  int depth;     /* nodes at this depth are leaves */
  double b0;     /* mean branching factor */
  int root_seed; /* -r */
  long nodes;    /* the published count */
} uts_tree;

static const uts_tree uts_trees[] = {
    {"T1", 10, 4.0, 19, 4130071},
    {"T1L", 13, 4.0, 29, 102181082},
};

typedef struct uts_node {
  unsigned char digest[20];
  int32_t height;
} uts_node; /* 24 bytes, sent as MPI_BYTE between ranks of the same build */

static const uts_tree *tree;

static void uts_root(uts_node *root) {
  unsigned char seed[20] = {0};
  seed[16] = (unsigned char)(tree->root_seed >> 24);
  seed[17] = (unsigned char)(tree->root_seed >> 16);
  seed[18] = (unsigned char)(tree->root_seed >> 8);
  seed[19] = (unsigned char)tree->root_seed;
  SHA_CTX ctx;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, seed, sizeof seed);
  SHA1_Final(root->digest, &ctx);
  root->height = 0;
}

static void uts_child(const uts_node *parent, int i, uts_node *child) {
  unsigned char index[4] = {(unsigned char)(i >> 24), (unsigned char)(i >> 16),
                            (unsigned char)(i >> 8), (unsigned char)i};
  SHA_CTX ctx;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, parent->digest, sizeof parent->digest);
  SHA1_Update(&ctx, index, sizeof index);
  SHA1_Final(child->digest, &ctx);
  child->height = parent->height + 1;
}

static int uts_children(const uts_node *node) {
  if (node->height >= tree->depth) return 0;
  const unsigned char *d = node->digest;
  uint32_t bits =
      ((uint32_t)d[16] << 24 | (uint32_t)d[17] << 16 | (uint32_t)d[18] << 8 | (uint32_t)d[19]) &
      0x7fffffffu;
  double u = (double)bits / 2147483648.0;
  double p = 1.0 / (1.0 + tree->b0);
  int n = (int)floor(log(1.0 - u) / log(1.0 - p));
  return n > UTS_MAX_CHILDREN ? UTS_MAX_CHILDREN : n;
}

/* ---- Exploring inside a rank, with spool ---------------------------------- */

static atomic_long rank_nodes;      /* nodes this rank explored */
static atomic_int donations_wanted; /* requesters waiting for a donation */

/* Nodes given away, waiting for main() to send them. */
static pthread_mutex_t outbox_lock = PTHREAD_MUTEX_INITIALIZER;
static uts_node *outbox;
static int outbox_len, outbox_cap;

/* Only children of nodes more than this many levels above the leaves are
   donated (height < depth - N):
   deeper subtrees are too small to be worth a message and a poll's latency
   (4^6 nodes on average for T1). Measured on T1 with 2 ranks on a loaded
   2-core machine, rank 1's share: 5 levels 19-21 %, 6 levels 31-39 %,
   7 levels 29-53 %; 6 keeps enough donatable nodes for larger trees. */
enum { DONATE_LEVELS_ABOVE_LEAVES = 6 };

static bool claim_donation(void) {
  /* relaxed: a hint; the nodes themselves pass through outbox_lock. */
  int wanted = atomic_load_explicit(&donations_wanted, memory_order_relaxed);
  while (wanted > 0)
    if (atomic_compare_exchange_weak_explicit(&donations_wanted, &wanted, wanted - 1,
                                              memory_order_relaxed, memory_order_relaxed))
      return true;
  return false;
}

static bool donate(const uts_node *parent, int first, int end) {
  pthread_mutex_lock(&outbox_lock);
  int need = outbox_len + (end - first);
  if (need > outbox_cap) {
    int cap = need * 2;
    uts_node *grown = realloc(outbox, (size_t)cap * sizeof *grown);
    if (!grown) {
      pthread_mutex_unlock(&outbox_lock);
      return false; /* keep the children: explore them here */
    }
    outbox = grown;
    outbox_cap = cap;
  }
  for (int i = first; i < end; i++)
    uts_child(parent, i, &outbox[outbox_len++]);
  pthread_mutex_unlock(&outbox_lock);
  return true;
}

typedef struct visit {
  uts_node node;
  long count; /* nodes in the subtree (less what was donated) */
} visit;

/* Counts the subtree below v->node, forking a task per child. */
static int visit_subtree(void *arg, void **result) {
  (void)result;
  visit *v = arg;
  int children = uts_children(&v->node);
  int keep = children;
  if (children >= 2 && v->node.height < tree->depth - DONATE_LEVELS_ABOVE_LEAVES &&
      claim_donation()) {
    if (donate(&v->node, children / 2, children))
      keep = children / 2;
    else
      atomic_fetch_add_explicit(&donations_wanted, 1, memory_order_relaxed); /* not served */
  }
  long count = 1;
  if (keep > 0) {
    visit next[keep];
    spool_task frames[keep];
    for (int i = 0; i < keep; i++) {
      uts_child(&v->node, i, &next[i].node);
      next[i].count = 0;
      spool_fork(&frames[i], visit_subtree, &next[i]);
    }
    for (int i = keep - 1; i >= 0; i--) { /* reverse order of the forks */
      spool_sync(&frames[i], NULL);
      count += next[i].count;
    }
  }
  v->count = count;
  return 0;
}

/* A node to explore, received or the root: a fire-and-forget task with its
   own copy of the node. */
static int explore_task(void *arg, void **result) {
  visit v = {*(const uts_node *)arg, 0};
  visit_subtree(&v, result);
  /* relaxed: main() reads the total after spool_join(), which orders it. */
  atomic_fetch_add_explicit(&rank_nodes, v.count, memory_order_relaxed);
  return 0;
}

/* ---- Messages ----------------------------------------------------------- */

enum { TAG_REQUEST = 1, TAG_WORK, TAG_NO_WORK, TAG_TOKEN, TAG_DONE };

/* Sends are non-blocking (two ranks may send to each other at once); each
   keeps its buffer until MPI is done with it. */
typedef struct pending_send {
  MPI_Request request;
  void *buffer;
} pending_send;
static pending_send *sends;
static int nsends, sends_cap;

static void fail(const char *what) {
  fprintf(stderr, "mpi_uts: %s\n", what);
  MPI_Abort(MPI_COMM_WORLD, 2);
}

static void post(int dest, int tag, const void *data, int bytes) {
  if (nsends == sends_cap) {
    sends_cap = sends_cap ? 2 * sends_cap : 16;
    sends = realloc(sends, (size_t)sends_cap * sizeof *sends);
    if (!sends) fail("out of memory");
  }
  void *copy = malloc(bytes > 0 ? (size_t)bytes : 1);
  if (!copy) fail("out of memory");
  if (bytes > 0) memcpy(copy, data, (size_t)bytes);
  sends[nsends].buffer = copy;
  MPI_Isend(copy, bytes, MPI_BYTE, dest, tag, MPI_COMM_WORLD, &sends[nsends].request);
  nsends++;
}

static void progress_sends(bool wait_all) {
  for (int i = 0; i < nsends;) {
    int done = 0;
    if (wait_all)
      MPI_Wait(&sends[i].request, MPI_STATUS_IGNORE), done = 1;
    else
      MPI_Test(&sends[i].request, &done, MPI_STATUS_IGNORE);
    if (done) {
      free(sends[i].buffer);
      sends[i] = sends[--nsends];
    } else {
      i++;
    }
  }
}

/* ---- The rank's main loop ------------------------------------------------- */

typedef struct rank_state {
  int rank, ranks;
  spool_executor *ex;
  bool busy;       /* local tasks may be running */
  bool awaiting;   /* our REQUEST has no reply yet */
  int next_victim; /* round-robin over the other ranks */
  int *requesters; /* ranks waiting for our reply */
  int nrequesters;
  long work_sent, work_received; /* WORK messages, for termination */
  bool have_token, token_out;
  long token[2]; /* sent, received: the wave's sums so far */
  long last_wave[2];
  bool done;
} rank_state;

static void explore_here(rank_state *s, const uts_node *nodes, int n) {
  for (int i = 0; i < n; i++) {
    int rc = spool_submit_copy(s->ex, explore_task, &nodes[i], sizeof nodes[i], NULL);
    if (rc != SPOOL_OK) fail(spool_strerror(rc));
  }
  if (n > 0) s->busy = true;
}

static void receive_messages(rank_state *s, bool *activity) {
  for (;;) {
    int flag;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
    if (!flag) return;
    *activity = true;
    int bytes;
    MPI_Get_count(&st, MPI_BYTE, &bytes);
    unsigned char *buffer = malloc(bytes > 0 ? (size_t)bytes : 1);
    if (!buffer) fail("out of memory");
    MPI_Recv(buffer, bytes, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    switch (st.MPI_TAG) {
    case TAG_REQUEST:
      if (s->busy && !s->done) {
        s->requesters[s->nrequesters++] = st.MPI_SOURCE;
        atomic_fetch_add_explicit(&donations_wanted, 1, memory_order_relaxed);
      } else {
        post(st.MPI_SOURCE, TAG_NO_WORK, NULL, 0);
      }
      break;
    case TAG_WORK:
      s->work_received++;
      s->awaiting = false;
      explore_here(s, (const uts_node *)buffer, bytes / (int)sizeof(uts_node));
      break;
    case TAG_NO_WORK:
      s->awaiting = false;
      break;
    case TAG_TOKEN:
      memcpy(s->token, buffer, sizeof s->token);
      s->have_token = true;
      break;
    case TAG_DONE:
      s->done = true;
      break;
    }
    free(buffer);
  }
}

/* Sends what tasks donated to the ranks that asked, oldest first. */
static void serve_requesters(rank_state *s) {
  pthread_mutex_lock(&outbox_lock);
  if (outbox_len > 0 && s->nrequesters > 0) {
    post(s->requesters[0], TAG_WORK, outbox, outbox_len * (int)sizeof(uts_node));
    s->work_sent++;
    outbox_len = 0;
    memmove(s->requesters, s->requesters + 1, (size_t)--s->nrequesters * sizeof(int));
  }
  pthread_mutex_unlock(&outbox_lock);
}

/* Called when the local work has run out (no task runs, none can donate). */
static void settle_idle(rank_state *s) {
  serve_requesters(s);
  /* Donations no requester is left for: explore them here. */
  if (outbox_len > 0) {
    explore_here(s, outbox, outbox_len);
    outbox_len = 0;
    return;
  }
  for (int i = 0; i < s->nrequesters; i++)
    post(s->requesters[i], TAG_NO_WORK, NULL, 0);
  s->nrequesters = 0;
  atomic_store_explicit(&donations_wanted, 0, memory_order_relaxed); /* no task runs */
}

static void pass_token(rank_state *s) {
  if (s->rank != 0) {
    long t[2] = {s->token[0] + s->work_sent, s->token[1] + s->work_received};
    post((s->rank + 1) % s->ranks, TAG_TOKEN, t, sizeof t);
    s->have_token = false;
    return;
  }
  /* Rank 0: the wave is complete. */
  s->have_token = s->token_out = false;
  long sent = s->token[0] + s->work_sent, received = s->token[1] + s->work_received;
  if (sent == received && sent == s->last_wave[0] && received == s->last_wave[1]) {
    for (int r = 1; r < s->ranks; r++)
      post(r, TAG_DONE, NULL, 0);
    s->done = true;
  }
  s->last_wave[0] = sent;
  s->last_wave[1] = received;
}

static void run_rank(rank_state *s) {
  while (!s->done) {
    bool activity = false;
    receive_messages(s, &activity);
    serve_requesters(s);
    if (s->busy) {
      int rc = spool_join(s->ex, 0.001); /* returns at once when all is done */
      if (rc == SPOOL_OK)
        s->busy = false;
      else if (rc != SPOOL_ETIMEDOUT)
        fail(spool_strerror(rc));
    }
    if (!s->busy) settle_idle(s);
    if (!s->busy && !s->done) {
      if (s->ranks == 1) {
        s->done = true;
      } else {
        if (!s->awaiting) {
          post(s->next_victim, TAG_REQUEST, NULL, 0);
          s->awaiting = true;
          s->next_victim = (s->next_victim + 1) % s->ranks;
          if (s->next_victim == s->rank) s->next_victim = (s->next_victim + 1) % s->ranks;
        }
        if (s->rank == 0 && !s->token_out) {
          long zero[2] = {0, 0};
          post(1, TAG_TOKEN, zero, sizeof zero);
          s->token_out = true;
        }
        if (s->have_token) pass_token(s);
      }
    }
    progress_sends(false);
    if (!s->busy && !activity) nanosleep(&(struct timespec){0, 50000}, NULL); /* idle: 50 us */
  }

  /* Wind down without leaving a message unmatched (see the opening comment). */
  bool in_barrier = false, barrier_done = false;
  MPI_Request barrier;
  while (!barrier_done) {
    bool activity = false;
    receive_messages(s, &activity); /* answers REQUEST with NO_WORK: done is set */
    if (!s->awaiting && !in_barrier) {
      MPI_Ibarrier(MPI_COMM_WORLD, &barrier);
      in_barrier = true;
    }
    if (in_barrier) {
      int flag;
      MPI_Test(&barrier, &flag, MPI_STATUS_IGNORE);
      barrier_done = flag;
    }
    progress_sends(false);
    if (!activity && !barrier_done) nanosleep(&(struct timespec){0, 50000}, NULL);
  }
  progress_sends(true);
}

int main(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  rank_state s = {0};
  MPI_Comm_rank(MPI_COMM_WORLD, &s.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &s.ranks);

  tree = &uts_trees[0];
  if (argc > 1) {
    tree = NULL;
    for (size_t i = 0; i < sizeof uts_trees / sizeof uts_trees[0]; i++)
      if (strcmp(argv[1], uts_trees[i].name) == 0) tree = &uts_trees[i];
    if (!tree) {
      if (s.rank == 0) fprintf(stderr, "usage: %s [T1|T1L]\n", argv[0]);
      MPI_Finalize();
      return 2;
    }
  }

  int rc = spool_executor_create(&s.ex, NULL);
  if (rc != SPOOL_OK) fail(spool_strerror(rc));
  s.requesters = malloc((size_t)s.ranks * sizeof(int));
  if (!s.requesters) fail("out of memory");
  s.next_victim = (s.rank + 1) % s.ranks;
  s.last_wave[0] = s.last_wave[1] = -1;

  MPI_Barrier(MPI_COMM_WORLD);
  double start = MPI_Wtime();
  if (s.rank == 0) {
    uts_node root;
    uts_root(&root);
    explore_here(&s, &root, 1);
  }
  run_rank(&s);
  double seconds = MPI_Wtime() - start;

  long mine = atomic_load_explicit(&rank_nodes, memory_order_relaxed), total = 0;
  long *shares = s.rank == 0 ? malloc((size_t)s.ranks * sizeof(long)) : NULL;
  MPI_Reduce(&mine, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  MPI_Gather(&mine, 1, MPI_LONG, shares, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  int ok = total == tree->nodes;
  if (s.rank == 0) {
    printf("%s: %ld nodes, expected %ld: %s\n", tree->name, total, tree->nodes,
           ok ? "correct" : "WRONG");
    printf("%d rank%s x %u workers, %.3f s\n", s.ranks, s.ranks == 1 ? "" : "s",
           spool_executor_workers(s.ex), seconds);
    for (int r = 0; r < s.ranks; r++)
      printf("rank %d explored %ld nodes\n", r, shares[r]);
    free(shares);
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  spool_executor_destroy(s.ex);
  free(s.requesters);
  free(sends);
  free(outbox);
  MPI_Finalize();
  return ok ? 0 : 1;
}
