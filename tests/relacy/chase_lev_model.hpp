// The Chase-Lev deque as a Relacy model, with the C11 orderings of
// N. M. Lê, A. Pop, A. Cohen and F. Zappa Nardelli, "Correct and Efficient
// Work-Stealing for Weak Memory Models", PPoPP 2013, access by access, and
// the scenarios that check it.
//
// chase_lev.cpp includes this file once per variant, each time inside its
// own namespace and with CHASE_LEV_WEAKEN set: CL_EXACT for the model of
// the paper, or one of the CL_* weakenings for a negative control, which
// the checker must catch. So the model and its controls are one source.
// No include guard, on purpose.
//
// Accesses and orderings (the paper's; the runtime's deque.c maps them
// onto its split deque, see split_deque_model.hpp):
//
//   push   bottom  load    relaxed   (the owner's own variable)
//          top     load    acquire   pairs with the CAS of steal/take: a
//                                    slot is reused only after its thief
//                                    has read it
//          array   load    relaxed   (the owner's own variable)
//          grow:   slots copied relaxed; array store release, pairing
//                  with the load of array in steal (as deque.c does; the
//                  paper's steal loads array with consume, which Relacy,
//                  like compilers, treats as acquire, and a consume load
//                  needs a release store to pair with)
//          slot    store   relaxed
//          fence           release   pairs with the acquire load of bottom
//                                    in steal: the slot and the item's
//                                    contents are visible to the thief
//          bottom  store   relaxed
//   take   bottom  load    relaxed, then store b-1 relaxed
//          array   load    relaxed
//          fence           seq_cst   Dekker with the fence in steal
//          top     load    relaxed
//          slot    load    relaxed
//          top     CAS     seq_cst / relaxed on failure (last item only)
//          bottom  store   relaxed   (restore b+1: empty or last item)
//   steal  top     load    acquire
//          fence           seq_cst   Dekker with the fence in take
//          bottom  load    acquire   pairs with the release fence in push
//          array   load    acquire   (the paper: consume)
//          slot    load    relaxed
//          top     CAS     seq_cst / relaxed on failure
//
// Not every ordering here can be checked: Relacy never lets a load read a
// store that comes later in the execution (load buffering), so weakening
// push's acquire load of top to relaxed still passes (tried: 10^6 random
// executions and the bound-2 search). The controls in chase_lev.cpp are
// the weakenings Relacy does catch.
//
// Growth: a full ring is copied into one twice its size. The old ring is
// kept (on the owner's retired list) until the test's after(), when no
// thief can be inside steal. Freeing it at once is a negative control
// (CL_FREE_ON_GROW): Relacy reports the thief's access to freed memory.
//
// Slots of a fresh ring are set to `poison` before the ring is published.
// The runtime leaves them uninitialised; a thief can read a slot of the new
// ring that the copy skipped (its index fell below top during the copy),
// and then its CAS fails. Relacy would report that read as an access to an
// uninitialised atomic, so the model gives the slot a value no push writes,
// and a winning thief that returns it is caught as garbage.

#ifndef CHASE_LEV_WEAKEN
#error "define CHASE_LEV_WEAKEN to CL_EXACT or a CL_* weakening before including chase_lev_model.hpp"
#endif

constexpr int weaken = CHASE_LEV_WEAKEN;

constexpr int poison = 0;        // never pushed: items are 1..max_items
constexpr long max_capacity = 8; // rings of 2, 4 and 8 slots
constexpr int max_items = 8;
constexpr int empty = -1;        // take or steal found nothing
constexpr int lost_race = -2;    // steal lost the CAS on top (the paper's ABORT)

// The paths whose coverage chase_lev.cpp checks (harness::expect_reached):
// plain counters, outside Relacy's model, summed over every execution.
enum path {
  path_grow,
  path_steal_won,
  path_steal_won_from_grown_ring,
  path_steal_lost_race,
  path_steal_found_empty,
  path_take_without_cas,
  path_take_won_last,
  path_take_lost_last,
  path_take_found_empty,
  path_count
};
inline const char *const path_names[path_count] = {
    "grow", "steal won", "steal won from a grown ring", "steal lost race", "steal found empty",
    "take without CAS", "take won last item", "take lost last item", "take found empty"};
inline unsigned long path_seen[path_count];
inline void reached(path p) { path_seen[p]++; }

struct ring {
  long mask; // capacity - 1; written once, before the ring is published
  bool grown; // made by grow(), not by the constructor of the deque
  rl::atomic<int> slot[max_capacity];

  explicit ring(long capacity, bool by_grow = false) : mask(capacity - 1), grown(by_grow) {
    RL_ASSERT(capacity <= max_capacity);
    for (long i = 0; i < capacity; i++) slot[i].store(poison, rl::mo_relaxed, $);
  }
  int get(long i) { return slot[i & mask].load(rl::mo_relaxed, $); }
  void put(long i, int x) { slot[i & mask].store(x, rl::mo_relaxed, $); }
};

struct deque {
  rl::atomic<long> top;    // written by the CAS of steal and of take
  rl::atomic<long> bottom; // written by the owner only
  rl::atomic<ring *> array; // written by the owner only (grow)
  ring *retired[4];         // owner only: rings replaced by grow
  int retired_count;

  explicit deque(long capacity) : retired_count(0) {
    top.store(0, rl::mo_relaxed, $);
    bottom.store(0, rl::mo_relaxed, $);
    array.store(new ring(capacity), rl::mo_relaxed, $);
  }

  // Quiescent (after every thread has finished): frees all rings.
  void destroy() {
    delete array.load(rl::mo_relaxed, $);
    for (int i = 0; i < retired_count; i++) delete retired[i];
  }

  ring *grow(ring *a, long t, long b) {
    ring *n = new ring(2 * (a->mask + 1), true);
    reached(path_grow);
    for (long i = t; i < b; i++) n->put(i, a->get(i));
    if (weaken == CL_FREE_ON_GROW) {
      delete a; // wrong: a thief may still be reading it
    } else {
      RL_ASSERT(retired_count < 4);
      retired[retired_count++] = a;
    }
    array.store(n, weaken == CL_GROW_RELAXED ? rl::mo_relaxed : rl::mo_release, $);
    return n;
  }

  // Owner only.
  void push(int x) {
    long b = bottom.load(rl::mo_relaxed, $);
    long t = top.load(rl::mo_acquire, $);
    ring *a = array.load(rl::mo_relaxed, $);
    if (b - t > a->mask) a = grow(a, t, b);
    a->put(b, x);
    if (weaken != CL_PUSH_NO_RELEASE_FENCE) rl::atomic_thread_fence(rl::mo_release, $);
    bottom.store(b + 1, rl::mo_relaxed, $);
  }

  // Owner only: the bottom item, or `empty`.
  int take() {
    long b = bottom.load(rl::mo_relaxed, $) - 1;
    ring *a = array.load(rl::mo_relaxed, $);
    bottom.store(b, rl::mo_relaxed, $);
    if (weaken != CL_TAKE_NO_FENCE) rl::atomic_thread_fence(rl::mo_seq_cst, $);
    long t = top.load(rl::mo_relaxed, $);
    int x;
    if (t <= b) {
      x = a->get(b);
      if (t == b) { // the last item: race the thieves for it
        if (!top.compare_exchange_strong(t, t + 1, rl::mo_seq_cst, $, rl::mo_relaxed, $)) {
          x = empty;
          reached(path_take_lost_last);
        } else {
          reached(path_take_won_last);
        }
        bottom.store(b + 1, rl::mo_relaxed, $);
      } else {
        reached(path_take_without_cas);
      }
    } else {
      x = empty;
      bottom.store(b + 1, rl::mo_relaxed, $);
      reached(path_take_found_empty);
    }
    return x;
  }

  // Any thread but the owner: the top item, `empty` or `lost_race`.
  int steal() {
    long t = top.load(rl::mo_acquire, $);
    if (weaken != CL_STEAL_NO_FENCE) rl::atomic_thread_fence(rl::mo_seq_cst, $);
    long b = bottom.load(weaken == CL_STEAL_RELAXED_BOTTOM ? rl::mo_relaxed : rl::mo_acquire, $);
    if (t >= b) {
      reached(path_steal_found_empty);
      return empty;
    }
    ring *a = array.load(rl::mo_acquire, $);
    int x = a->get(t);
    if (!top.compare_exchange_strong(t, t + 1, rl::mo_seq_cst, $, rl::mo_relaxed, $)) {
      reached(path_steal_lost_race);
      return lost_race;
    }
    reached(a->grown ? path_steal_won_from_grown_ring : path_steal_won);
    return x;
  }
};

// One execution: thread 0 owns the deque and runs Script::owner, threads
// 1..thieves run Script::thief. Every item carries a payload (an rl::var,
// so Relacy reports a data race if the thread that takes the item is not
// ordered after the push that wrote it); whoever takes an item counts it
// (an atomic counter, so that a second taker is reported as such rather
// than as a race on the counter). After all threads finish, each pushed
// item must have been taken exactly once and the deque must be empty.
template <class Script>
struct scenario : rl::test_suite<scenario<Script>, 1 + Script::thieves> {
  deque q;
  rl::var<int> payload[max_items + 1];
  rl::atomic<int> taken[max_items + 1];

  scenario() : q(Script::initial_capacity) {}

  void before() {
    for (int i = 0; i <= max_items; i++) {
      payload[i]($) = 0;
      taken[i].store(0, rl::mo_relaxed, $);
    }
  }

  void thread(unsigned index) {
    if (index == 0)
      Script::owner(*this);
    else
      Script::thief(*this, index);
  }

  void after() {
    for (int i = 1; i <= Script::items; i++) {
      bool taken_once = taken[i].load(rl::mo_relaxed, $) == 1;
      RL_ASSERT(taken_once && "an item was lost");
    }
    bool empty_at_end = q.top.load(rl::mo_relaxed, $) == q.bottom.load(rl::mo_relaxed, $);
    RL_ASSERT(empty_at_end && "top != bottom after the owner drained the deque");
    q.destroy();
  }

  static int payload_of(int x) { return 1000 + x; }

  // A taken item must be one that was pushed (not poison, not a stale
  // value), with its contents visible.
  void took(int x) {
    bool pushed_item = x >= 1 && x <= Script::items;
    RL_ASSERT(pushed_item && "took garbage: a value no push wrote");
    if (!pushed_item) return;
    bool contents_seen = payload[x]($) == payload_of(x);
    RL_ASSERT(contents_seen && "took an item without seeing its contents");
    bool first_taker = taken[x].fetch_add(1, rl::mo_relaxed, $) == 0;
    RL_ASSERT(first_taker && "an item was taken twice");
  }

  void push(int x) {
    payload[x]($) = payload_of(x);
    q.push(x);
  }
  bool pop() {
    int x = q.take();
    if (x == empty) return false;
    took(x);
    return true;
  }
  void drain() {
    while (pop()) {
    }
  }
  void steal(int attempts) {
    for (int i = 0; i < attempts; i++) {
      int x = q.steal();
      if (x != empty && x != lost_race) took(x);
    }
  }
};

// Owner: pushes six items into a ring of two, popping one on the way, so the
// ring grows twice (2 -> 4 -> 8) unless the thief keeps it small; then pops
// until empty. One thief tries three steals, concurrently with all of it.
struct grow_one_thief {
  static const int thieves = 1, items = 6, initial_capacity = 2;
  template <class S> static void owner(S &s) {
    s.push(1);
    s.push(2);
    s.push(3); // grows to 4
    s.pop();
    s.push(4);
    s.push(5);
    s.push(6); // grows to 8
    s.drain();
  }
  template <class S> static void thief(S &s, unsigned) { s.steal(3); }
};

// Two thieves race each other and the owner for the same top items.
struct two_thieves {
  static const int thieves = 2, items = 4, initial_capacity = 2;
  template <class S> static void owner(S &s) {
    s.push(1);
    s.push(2);
    s.push(3); // grows to 4
    s.pop();
    s.push(4);
    s.drain();
  }
  template <class S> static void thief(S &s, unsigned) { s.steal(2); }
};

// The last-item race in its smallest form, small enough for the
// context-bound search: two items, the owner pops both, the thief tries
// twice.
struct last_item {
  static const int thieves = 1, items = 2, initial_capacity = 2;
  template <class S> static void owner(S &s) {
    s.push(1);
    s.push(2);
    s.pop();
    s.pop();
  }
  template <class S> static void thief(S &s, unsigned) { s.steal(2); }
};
