// The runtime's deque (runtime/deque.c) as a Relacy model: Chase-Lev with an
// owner-private part at the bottom (a list in deque.c; an owner-local stack
// here), the split deque of T. van Dijk and J. van de Pol, "Lace:
// Non-blocking Split Deque for Work-Stealing",
// Euro-Par 2014, with Chase-Lev's protocol and the orderings of Lê, Pop,
// Cohen and Zappa Nardelli (PPoPP 2013) on the public part, and the hand-off
// of publish requests to thieves that go to sleep (deque.c's "Requests",
// with the part of park.c it relies on). Every access below has the ordering
// of the same access in deque.c (as of its private list, spool 0.3) and
// park.c; the function names are theirs without the `deque_` / `park_`
// prefix.
//
// split_deque.cpp includes this file once per variant, inside its own
// namespace and with SPLIT_DEQUE_WEAKEN set (SD_EXACT, or one SD_*
// weakening for a negative control). No include guard, on purpose.
//
// THE PROTOCOL
//
// Public items live at indices [top, split) of a ring; private items on an
// owner-only stack (deque.c: a list through the items, newest first):
//
//     top              split
//      | public: thieves |  private: owner (a stack, newest on top)
//
//  1. The owner pushes a fork-join frame onto the private stack
//     (push_private): owner-only memory, no atomic access at all. sync takes
//     the frame back the same way (take_private_bottom), and pop takes
//     private items first.
//  2. A thief loads top (acquire), fences (seq_cst), loads split (acquire).
//     If the public region [top, split) is empty it raises publish_request
//     (relaxed; only if not already raised) and gives up. Otherwise it loads
//     the ring pointer (acquire) and the slot at top (relaxed), and claims the
//     index by a CAS of top to top + 1 (seq_cst).
//  3. The owner polls publish_request (relaxed) at each fork and each pop;
//     when it is raised, publish moves the older half of the private items
//     into the ring at split (relaxed stores of the slots, oldest lowest)
//     and makes them public with a release store of split, then clears the
//     request with an exchange (acq_rel); only a publication clears it. If the exchange read
//     a request, the owner wakes a sleeper (park_notify: seq_cst fence, read
//     sleepers, bump the epoch). A public push (a submitted task or a
//     continuation) stores the item and publishes everything the same way;
//     so does a worker about to park a task.
//  3'. A thief about to sleep announces it (sleepers++, seq_cst; reads the
//     epoch, acquire), renews its request on the victim with a seq_cst
//     exchange, re-checks the public region with seq_cst loads, and sleeps
//     until the epoch moves (or goes back to stealing if the re-check found
//     work).
//  4. With its private region empty, the owner pops the public region as
//     Chase-Lev's take does, split playing bottom: split - 1 stored relaxed,
//     a seq_cst fence, top loaded relaxed. If the region was empty, split is
//     restored; if one item was left, the owner races the thieves for it with
//     a CAS on top (seq_cst) and then restores split to top.
//  5. Growth. The owner keeps a lower bound of top (top_bound). When a
//     publication's end - top_bound would overflow the ring it reloads top
//     (acquire: it pairs with the thieves' CAS, so a slot is reused only
//     after its thief read it); while the ring is still too small it copies
//     [top_bound, split) into a ring twice the size and publishes that with
//     a seq_cst store of the ring pointer (R3 below; as a release, it
//     publishes the copied slots). The old ring goes on the retired list.
//  6. Shrinking (trim, the worker's idle path). With the deque empty (its
//     private region empty and top, loaded with acquire, equal to split) and
//     the ring grown, the owner installs a ring of the initial size the same
//     way, retiring the big one. Indices do not move; a thief with a stale
//     top may read a slot of the new ring and then loses its CAS.
//  7. Reclamation. A thief that found the public region non-empty increments
//     `thieves` (seq_cst, R1) before it loads the ring pointer (seq_cst, R2)
//     and decrements it (release, R4) after its read and its CAS. The owner
//     frees the retired rings, after each growth and in trim, only if a
//     seq_cst load of `thieves` (R5) reads 0. Freeing without that check,
//     or freeing at once in grow, are negative controls that Relacy catches
//     as an access to freed memory.
//
// THE INVARIANT: each index is taken by exactly one thread, and that thread
// sees the item and the contents written before it was pushed. Why it holds:
//  (a) Thieves take only through the CAS on top, which moves top past the
//      index, so no two thieves take one index; top only grows.
//  (b) A thief takes index t only if it read split > t; split reaches t + 1
//      only by the owner's release store in publish, which the thief's acquire
//      load of split pairs with, so the slot and the contents are visible.
//      (pop_public's relaxed stores of split only lower it and restore it;
//      they continue the release sequence of the last publish, so a thief that
//      reads them also synchronises with that publish. That is C11's rule,
//      which Relacy implements; C++20 dropped same-thread stores from release
//      sequences: see the notes in split_deque.cpp.)
//  (c) The owner's private operations touch only its private stack, which
//      no thief reads: so they need no fence and no RMW. Publishing writes
//      the slots it then covers with split, before the release store.
//  (d) The owner's public pop and a thief race only for the public bottom
//      index s. Both store or read their own index, fence seq_cst, then read
//      the other's (Dekker): at least one sees the other. If the thief sees
//      split lowered to s it does not take s (t < s is needed); if the owner
//      sees top == s, index s is the last one, and both claim it through the
//      CAS on top, which only one wins; if the owner sees top > s, the region
//      was empty and it restores split.
//  (e) A slot is rewritten only when the publication's end - top_bound fits
//      the ring, where top_bound <= top; so the previous item in that slot
//      (index < end - capacity <= top_bound) was already taken.
//  (f) No ring is freed while a thief may read it (deque.c, "Reclamation"):
//      if a thief's R2 read a ring the owner retired by R3 before its R5,
//      then R1 < R2 < R3 < R5 in the total order of seq_cst operations, so
//      R5 reads R1's increment or later; it reads 0 only if it also reads
//      the thief's R4 (or later RMWs in its release sequence), and then the
//      thief's read of the ring happens before the free.
//
// THE INVARIANT OF REQUESTS (deque.c): a sleeping thief has a request
// standing on its victim, or the victim's owner wakes it. Why: in the
// modification order of the flag, either the owner's clearing exchange comes
// after the thief's renewing exchange, reads it (an RMW reads the latest
// value) and so synchronises with it, and then the owner's park_notify sees
// the thief's earlier sleepers++ and bumps the epoch; or it comes before,
// and the thief's request stands for the owner's next poll. Checked in
// after() for a thief that went to sleep: if the epoch did not move after
// it read it, the flag must still be set. (One sleeping thief per scenario:
// the model's "woken" is "the epoch moved", which is exact for one sleeper
// but not for several, where one futex wake wakes one of them.)
//
// What this model does not decide: whether a request is eventually
// answered (liveness: the owner polls at each fork and pop), whether a
// thief sleeping behind a standing request misses work meanwhile (it can:
// that costs parallelism until the owner's next poll, by design), and
// anything Relacy cannot express (see split_deque.cpp's notes: Relacy does
// not model load buffering, and its seq_cst fences are stronger than C11's).

#ifndef SPLIT_DEQUE_WEAKEN
#error "define SPLIT_DEQUE_WEAKEN to SD_EXACT or an SD_* weakening before including split_deque_model.hpp"
#endif

constexpr int weaken = SPLIT_DEQUE_WEAKEN;

constexpr int poison = 0; // never pushed: items are 1..max_items
constexpr long max_capacity = 8;
constexpr int max_items = 8;
constexpr int empty = -1;     // pop, steal or peek found nothing
constexpr int lost_race = -2; // steal lost the CAS on top

// The paths whose coverage split_deque.cpp checks (harness::expect_reached):
// plain counters, outside Relacy's model, summed over every execution.
enum path {
  path_grow,
  path_publish_on_request,
  path_publish_all,
  path_steal_won,
  path_steal_won_from_grown_ring,
  path_steal_lost_race,
  path_steal_raised_request,
  path_sync_fast_path,
  path_sync_popped_published,
  path_sync_found_stolen,
  path_pop_private,
  path_pop_public_without_cas,
  path_pop_public_won_last,
  path_pop_public_lost_last,
  path_pop_public_found_empty,
  path_publish_answered_request,
  path_notify_woke,
  path_recheck_found_work,
  path_thief_slept,
  path_trim_shrank,
  path_reclaim_freed,
  path_reclaim_deferred,
  path_count
};
inline const char *const path_names[path_count] = {"grow",
                                                   "publish on request",
                                                   "publish all",
                                                   "steal won",
                                                   "steal won from a grown ring",
                                                   "steal lost race",
                                                   "steal raised the request",
                                                   "sync by the fast path",
                                                   "sync popped its published frame",
                                                   "sync found its frame stolen",
                                                   "pop private",
                                                   "pop public without CAS",
                                                   "pop public won last item",
                                                   "pop public lost last item",
                                                   "pop public found empty",
                                                   "publish answered a request",
                                                   "notify woke a sleeper",
                                                   "sleep re-check found work",
                                                   "thief went to sleep",
                                                   "trim shrank the ring",
                                                   "reclaim freed retired rings",
                                                   "reclaim deferred: a thief was inside"};
inline unsigned long path_seen[path_count];
inline void reached(path p) { path_seen[p]++; }

// A ring of slots. The runtime's ring is malloc'd and left uninitialised; a
// thief may read a slot of a new ring that the copy skipped (its index fell
// below top meanwhile) and then lose its CAS. Relacy would report that read
// of an unwritten atomic, so here fresh slots hold `poison`, which a
// winning thief must never return.
struct ring {
  long mask;  // capacity - 1
  bool grown; // made by grow(), not by the constructor of the deque
  rl::atomic<int> slot[max_capacity];

  explicit ring(long capacity, bool by_grow = false) : mask(capacity - 1), grown(by_grow) {
    RL_ASSERT(capacity <= max_capacity);
    for (long i = 0; i < capacity; i++) slot[i].store(poison, rl::mo_relaxed, $);
  }
  // relaxed: ordered by the acquire of split (thieves) or written by the
  // reader itself (owner); deque.c's buffer_get.
  int get(long i) { return slot[i & mask].load(rl::mo_relaxed, $); }
  // relaxed: published by a later release store of split (or of buffer).
  void put(long i, int x) { slot[i & mask].store(x, rl::mo_relaxed, $); }
};

struct deque {
  rl::atomic<long> top;            // CAS by thieves, and by the owner for the last item
  rl::atomic<long> split;          // written by the owner only
  rl::atomic<ring *> buffer;       // written by the owner only (grow)
  rl::atomic<int> publish_request; // raised by thieves, cleared by the owner
  rl::atomic<long> thieves;        // thieves inside a read of the ring (R1, R4)

  // Owner only: no other thread touches these.
  int priv[max_items]; // the private stack, oldest first
  long priv_count;
  long owner_split;
  long top_bound;
  ring *owner_buffer;
  rl::atomic<int> *owner_slots; // owner_buffer->slot, as deque.h keeps it
  long owner_mask;              // owner_buffer->mask
  ring *retired[8];
  int retired_count;
  long initial_mask;

  explicit deque(long capacity)
      : priv_count(0), owner_split(0), top_bound(0), owner_buffer(new ring(capacity)),
        owner_slots(owner_buffer->slot), owner_mask(owner_buffer->mask), retired_count(0),
        initial_mask(capacity - 1) {
    top.store(0, rl::mo_relaxed, $);
    split.store(0, rl::mo_relaxed, $);
    buffer.store(owner_buffer, rl::mo_relaxed, $);
    publish_request.store(0, rl::mo_relaxed, $);
    thieves.store(0, rl::mo_relaxed, $);
  }

  // Quiescent: frees every ring (deque_destroy).
  void destroy() {
    delete owner_buffer;
    for (int i = 0; i < retired_count; i++) delete retired[i];
  }

  // Frees the retired rings if no thief can read them (R5).
  bool reclaim() {
    if (retired_count == 0) return true;
    // seq_cst: R5; after the seq_cst store of buffer that retired each ring
    // (R3); pairs with the thieves' R1 and, as an acquire, their R4.
    if (weaken != SD_RECLAIM_UNCHECKED && thieves.load(rl::mo_seq_cst, $) != 0) {
      reached(path_reclaim_deferred);
      return false;
    }
    for (int i = 0; i < retired_count; i++) delete retired[i];
    retired_count = 0;
    reached(path_reclaim_freed);
    return true;
  }

  // deque_replace_ring: retire the current ring, publish b.
  void replace_ring(ring *b) {
    ring *old = owner_buffer;
    if (weaken == SD_FREE_ON_GROW) {
      delete old; // wrong: a thief may still be reading it
    } else {
      RL_ASSERT(retired_count < 8);
      retired[retired_count++] = old;
    }
    owner_buffer = b;
    owner_slots = b->slot;
    owner_mask = b->mask;
    // seq_cst: R3; as a release it pairs with the acquire of buffer in
    // steal (the copied slots), and it orders the retirement before R5.
    buffer.store(b, weaken == SD_GROW_RELAXED ? rl::mo_relaxed : rl::mo_seq_cst, $);
  }

  ring *grow(long t) {
    ring *old = owner_buffer;
    ring *b = new ring(2 * (old->mask + 1), true);
    reached(path_grow);
    for (long i = t; i < owner_split; i++) b->put(i, old->get(i));
    replace_ring(b);
    reclaim();
    return b;
  }

  // deque_trim: back to the initial ring when empty; then reclaim. True
  // when nothing is left to reclaim.
  bool trim() {
    if (owner_mask > initial_mask && priv_count == 0) {
      // acquire: pairs with the thieves' CAS on top, as in room().
      long t = top.load(rl::mo_acquire, $);
      if (t == owner_split) {
        top_bound = t;
        replace_ring(new ring(initial_mask + 1));
        reached(path_trim_shrank);
      }
    }
    return reclaim() && owner_mask == initial_mask;
  }

  // deque_room: how many of `want` more public items fit, growing the ring.
  long room(long want) {
    ring *buf = owner_buffer;
    long end = owner_split + want;
    if (end - top_bound <= buf->mask + 1) return want;
    // acquire: pairs with the CAS on top in steal (a vacated slot is
    // rewritten only after its thief has read it).
    top_bound = top.load(rl::mo_acquire, $);
    while (end - top_bound > buf->mask + 1) buf = grow(top_bound);
    return want;
  }

  void push_private(int x) {
    RL_ASSERT(priv_count < max_items);
    priv[priv_count++] = x;
  }

  // deque_publish_oldest: the `count` oldest private items into the ring at
  // split, oldest lowest (relaxed: covered by the release store of split).
  void publish_oldest(long count, rl::memory_order order) {
    long s0 = owner_split;
    for (long k = 0; k < count; k++) owner_buffer->put(s0 + k, priv[k]);
    for (long k = count; k < priv_count; k++) priv[k - count] = priv[k];
    priv_count -= count;
    owner_split = s0 + count;
    split.store(s0 + count, order, $);
  }

  // True when it answered a thief's request: the caller must then wake a
  // sleeper (park_lot::notify).
  bool publish(bool all) {
    long length = priv_count;
    if (weaken == SD_OLD_REQUESTS) { // the protocol before deque.c's 0328c89
      if (length > 0) publish_oldest(room(all ? length : (length + 1) / 2), rl::mo_release);
      if (publish_request.load(rl::mo_relaxed, $)) publish_request.store(0, rl::mo_relaxed, $);
      return true; // its callers notified (fenced) after every answer
    }
    // Nothing private: the request stays for the next push.
    if (length == 0) return false;
    // release: pairs with the acquire load of split in steal.
    publish_oldest(room(all ? length : (length + 1) / 2),
                   weaken == SD_PUBLISH_RELAXED ? rl::mo_relaxed : rl::mo_release);
    reached(all ? path_publish_all : path_publish_on_request);
    // relaxed: the cheap test; the exchange decides.
    if (!publish_request.load(rl::mo_relaxed, $)) return false;
    // acq_rel exchange: pairs with the seq_cst exchange in request_publish,
    // so the caller's notify sees that thief among the sleepers.
    bool answered = publish_request.exchange(0, rl::mo_acq_rel, $) != 0;
    if (answered) reached(path_publish_answered_request);
    return answered;
  }

  // A public push: submitted tasks and continuations. Returns whether it
  // answered a request (deque.c's *answered).
  bool push(int x) {
    push_private(x); // then all of it goes public
    bool answered = publish(true);
    return weaken == SD_OLD_REQUESTS ? false : answered;
  }

  // A thief about to sleep, after announcing it (park_lot::prepare).
  void request_publish() {
    publish_request.exchange(1, weaken == SD_REQUEST_RELAXED ? rl::mo_relaxed : rl::mo_seq_cst, $);
  }

  // The sleep protocol's re-check (deque_nonempty_seq_cst).
  bool nonempty_seq_cst() {
    long t = top.load(rl::mo_seq_cst, $);
    long s = split.load(rl::mo_seq_cst, $);
    return s > t;
  }

  bool publish_requested() { return publish_request.load(rl::mo_relaxed, $) != 0; }

  // The fork-join fast path: no fence, no RMW.
  bool take_private_bottom(int x) {
    if (priv_count == 0 || priv[priv_count - 1] != x) return false;
    priv_count--;
    return true;
  }

  int pop_public() {
    long s = owner_split - 1;
    // relaxed store + seq_cst fence, then top: Dekker with steal.
    split.store(s, rl::mo_relaxed, $);
    if (weaken != SD_POP_NO_FENCE) rl::atomic_thread_fence(rl::mo_seq_cst, $);
    long t = top.load(rl::mo_relaxed, $);
    // deque.c does this too; see the note on top_bound in split_deque.cpp.
    top_bound = t;
    if (t > s) { // empty: restore
      split.store(s + 1, rl::mo_relaxed, $);
      reached(path_pop_public_found_empty);
      return empty;
    }
    int item = owner_buffer->get(s);
    owner_split = s;
    if (t == s) { // the last public item: race the thieves for it
      if (!top.compare_exchange_strong(t, t + 1, rl::mo_seq_cst, $, rl::mo_relaxed, $)) {
        item = empty;
        reached(path_pop_public_lost_last);
      } else {
        reached(path_pop_public_won_last);
      }
      owner_split = top_bound = s + 1;
      split.store(s + 1, rl::mo_relaxed, $);
    } else {
      reached(path_pop_public_without_cas);
    }
    return item;
  }

  int pop() {
    if (priv_count > 0) { // private
      reached(path_pop_private);
      return priv[--priv_count];
    }
    // relaxed: a cheap emptiness check; pop_public decides.
    if (owner_split <= top.load(rl::mo_relaxed, $)) return empty;
    return pop_public();
  }

  int steal() {
    long t = top.load(rl::mo_acquire, $);
    if (weaken != SD_STEAL_NO_FENCE) rl::atomic_thread_fence(rl::mo_seq_cst, $);
    long s = split.load(rl::mo_acquire, $);
    if (t >= s) {
      if (!publish_request.load(rl::mo_relaxed, $)) {
        publish_request.store(1, rl::mo_relaxed, $);
        reached(path_steal_raised_request);
      }
      return empty;
    }
    // seq_cst: R1, before the load of the ring (reclamation).
    thieves.fetch_add(1, rl::mo_seq_cst, $);
    // seq_cst: R2; as an acquire, pairs with the store of buffer (R3).
    ring *buf = buffer.load(rl::mo_seq_cst, $);
    int item = buf->get(t);
    bool won = top.compare_exchange_strong(t, t + 1, rl::mo_seq_cst, $, rl::mo_relaxed, $);
    // release: R4; the read above happens before an R5 that reads it.
    thieves.fetch_sub(1, rl::mo_release, $);
    if (!won) {
      reached(path_steal_lost_race);
      return lost_race;
    }
    reached(buf->grown ? path_steal_won_from_grown_ring : path_steal_won);
    return item;
  }

  // The bottom item without taking it (deque_peek_bottom).
  int peek_bottom() {
    if (priv_count > 0) return priv[priv_count - 1];
    long s = owner_split;
    if (s <= top.load(rl::mo_relaxed, $)) return empty;
    return owner_buffer->get(s - 1);
  }
};

// The workers' sleep (runtime/park.c), as much of it as the hand-off of
// requests needs: a thief announces its sleep (sleepers++, seq_cst), reads
// the epoch (acquire), renews its request on the victim, re-checks the
// public region, and sleeps until the epoch moves; an owner that answered a
// request fences (seq_cst), reads sleepers and, if any, bumps the epoch (the
// futex wake). park_notify_relaxed, the hint a busy owner sends after a
// push that answered nothing, is left out: what is checked must hold
// without it.
struct park_lot {
  rl::atomic<int> sleepers;
  rl::atomic<int> epoch;

  park_lot() {
    sleepers.store(0, rl::mo_relaxed, $);
    epoch.store(0, rl::mo_relaxed, $);
  }
  int prepare() {
    sleepers.fetch_add(1, rl::mo_seq_cst, $);
    return epoch.load(rl::mo_acquire, $);
  }
  void cancel() { sleepers.fetch_sub(1, rl::mo_relaxed, $); }
  void notify() {
    rl::atomic_thread_fence(rl::mo_seq_cst, $);
    if (sleepers.load(rl::mo_relaxed, $) > 0) {
      epoch.fetch_add(1, rl::mo_release, $);
      reached(path_notify_woke);
    }
  }
};

// One execution: thread 0 owns the deque and runs Script::owner; threads
// 1..thieves run Script::thief. As in chase_lev_model.hpp, each item has a
// payload in an rl::var (a taker not ordered after the push is a data race)
// and an atomic count of its takers; after all threads finish, every item
// must have been taken exactly once and the deque must be empty.
template <class Script>
struct scenario : rl::test_suite<scenario<Script>, 1 + Script::thieves> {
  deque q;
  park_lot lot;
  rl::var<int> payload[max_items + 1];
  rl::atomic<int> taken[max_items + 1];
  // Per thief (index 1..thieves), written by that thief only: it went to
  // sleep, and the epoch it sleeps on.
  bool asleep[1 + Script::thieves];
  int asleep_epoch[1 + Script::thieves];

  scenario() : q(Script::initial_capacity) {
    for (int i = 0; i <= Script::thieves; i++) {
      asleep[i] = false;
      asleep_epoch[i] = 0;
    }
  }

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
    long t = q.top.load(rl::mo_relaxed, $), s = q.split.load(rl::mo_relaxed, $);
    bool empty_at_end = t == s && q.priv_count == 0 && q.owner_split == s;
    RL_ASSERT(empty_at_end && "top and split differ, or private items remain, after the owner "
                              "drained the deque");
    // deque.c's invariant for requests: a sleeping thief has a request
    // standing on the victim, or the owner woke it (moved the epoch).
    for (int i = 1; i <= Script::thieves; i++) {
      if (!asleep[i] || lot.epoch.load(rl::mo_relaxed, $) != asleep_epoch[i]) continue;
      bool request_stands = q.publish_request.load(rl::mo_relaxed, $) != 0;
      RL_ASSERT(request_stands && "a thief sleeps, unwoken, behind a cleared request");
    }
    // With every thief done, a trim leaves nothing to reclaim.
    bool trimmed = q.trim();
    RL_ASSERT(trimmed && "rings left after the final trim");
    q.destroy();
  }

  static int payload_of(int x) { return 1000 + x; }

  void took(int x) {
    bool pushed_item = x >= 1 && x <= Script::items;
    RL_ASSERT(pushed_item && "took garbage: a value no push wrote");
    if (!pushed_item) return;
    bool contents_seen = payload[x]($) == payload_of(x);
    RL_ASSERT(contents_seen && "took an item without seeing its contents");
    bool first_taker = taken[x].fetch_add(1, rl::mo_relaxed, $) == 0;
    RL_ASSERT(first_taker && "an item was taken twice");
  }

  // What the runtime does around the deque (forkjoin.c, worker.c).
  void poll() { // after each fork and each pop: answer a thief's request
    if (q.publish_requested() && q.publish(false)) lot.notify(); // worker_publish
  }
  void fork(int x) { // spool_fork
    payload[x]($) = payload_of(x);
    q.push_private(x);
    poll();
  }
  void sync(int x) { // spool_sync: the fast path, then peek + pop
    if (q.take_private_bottom(x)) {
      reached(path_sync_fast_path);
      took(x);
      return;
    }
    if (q.peek_bottom() == x) {
      int y = q.pop();
      bool popped_bottom = y == x || y == empty;
      RL_ASSERT(popped_bottom && "pop returned another item than the bottom one peeked");
      if (y == x) {
        reached(path_sync_popped_published);
        took(x);
        return;
      }
    }
    // Otherwise a thief took x (the runtime would wait for it).
    reached(path_sync_found_stolen);
  }
  void push(int x) { // a submitted task or a continuation: public
    payload[x]($) = payload_of(x);
    if (q.push(x)) lot.notify(); // else park_notify_relaxed, left out
  }
  void before_block() { // worker_before_block: publish all, wake fenced
    if (q.priv_count == 0 && q.owner_split - q.top.load(rl::mo_relaxed, $) <= 0) return;
    q.publish(true);
    lot.notify();
  }
  bool pop() { // the worker loop
    int x = q.pop();
    if (x == empty) return false;
    took(x);
    poll();
    return true;
  }
  void drain() {
    while (pop()) {
    }
  }
  // The worker's idle path: its deque is empty (worker_idle).
  void idle() { q.trim(); }
  void steal(int attempts) {
    for (int i = 0; i < attempts; i++) {
      int x = q.steal();
      if (x != empty && x != lost_race) took(x);
    }
  }
  // An idle worker (worker_idle with its single victim): steal; when that
  // finds nothing, announce the sleep, renew the request, re-check, and
  // either go back to stealing or sleep (the thread ends there; after()
  // tells whether the epoch moved since, i.e. whether it was woken).
  void steal_or_sleep(unsigned index, int rounds) {
    for (int r = 0; r < rounds; r++) {
      int x = q.steal();
      if (x == lost_race) continue;
      if (x != empty) {
        took(x);
        continue;
      }
      int e = lot.prepare();
      if (weaken != SD_NO_SLEEP_REQUEST && weaken != SD_OLD_REQUESTS) q.request_publish();
      if (q.nonempty_seq_cst()) {
        reached(path_recheck_found_work);
        lot.cancel();
        continue;
      }
      reached(path_thief_slept);
      asleep[index] = true;
      asleep_epoch[index] = e;
      return;
    }
  }
};

// Fork-join with growth: three frames in a ring of two (it grows to 4 unless
// the thief takes one first), synced in reverse order; then a continuation
// (a public push, which publishes everything) and one more frame; then the
// loop pops the rest. The thief tries three steals; an empty public region
// raises the request that the owner answers at its next poll.
struct fork_join_one_thief {
  static const int thieves = 1, items = 5, initial_capacity = 2;
  template <class S> static void owner(S &s) {
    s.fork(1);
    s.fork(2);
    s.fork(3); // a request publishes the older two, or three (then it grows)
    s.sync(3);
    s.sync(2);
    s.sync(1);
    s.push(4);
    s.fork(5);
    s.sync(5);
    s.drain();
  }
  template <class S> static void thief(S &s, unsigned) { s.steal(3); }
};

// Two thieves; the owner parks (publishes everything) with frames pending,
// then pops public items, racing the thieves down to the last one.
struct park_two_thieves {
  static const int thieves = 2, items = 4, initial_capacity = 2;
  template <class S> static void owner(S &s) {
    s.fork(1);
    s.fork(2);
    s.fork(3);
    s.sync(3);
    s.before_block(); // what a worker does before parking a task (may grow)
    s.push(4);
    s.sync(4);
    s.sync(2);
    s.sync(1);
    s.drain();
  }
  template <class S> static void thief(S &s, unsigned) { s.steal(2); }
};

// Small enough for the context-bound search: two frames; the thief's
// request makes the owner publish the older one; sync takes the newer one
// by the fast path and races the thief for the published one.
struct request_and_sync {
  static const int thieves = 1, items = 2, initial_capacity = 2;
  template <class S> static void owner(S &s) {
    s.fork(1);
    s.fork(2);
    s.sync(2);
    s.sync(1);
    s.drain();
  }
  template <class S> static void thief(S &s, unsigned) { s.steal(2); }
};

// The worker loop pops frames that are still private: a task that forked
// three frames waits (with no fiber to park on) and its worker runs other
// work meanwhile, popping the frames back from the bottom.
struct loop_pops_frames {
  static const int thieves = 1, items = 3, initial_capacity = 2;
  template <class S> static void owner(S &s) {
    s.fork(1);
    s.fork(2);
    s.fork(3); // grows to 4
    s.drain();
  }
  template <class S> static void thief(S &s, unsigned) { s.steal(2); }
};

// The hand-off of requests to a thief that goes to sleep (deque.c,
// "Requests"): the owner forks and syncs frames, answering requests at its
// polls and taking published frames back by sync; the thief steals, and
// when it finds nothing goes through the sleep protocol. The check (in
// after()): a thief asleep and not woken has its request standing.
struct thief_sleeps {
  static const int thieves = 1, items = 4, initial_capacity = 2;
  template <class S> static void owner(S &s) {
    s.fork(1);
    s.fork(2);
    s.sync(2);
    s.sync(1);
    s.fork(3);
    s.fork(4);
    s.sync(4);
    s.sync(3);
    s.drain();
  }
  template <class S> static void thief(S &s, unsigned index) { s.steal_or_sleep(index, 3); }
};

// The last-item race on the public part alone (continuations only).
struct public_last_item {
  static const int thieves = 1, items = 2, initial_capacity = 2;
  template <class S> static void owner(S &s) {
    s.push(1);
    s.push(2);
    s.drain();
  }
  template <class S> static void thief(S &s, unsigned) { s.steal(2); }
};

// Growth, shrinking and reclamation (deque.c, "Shrinking", "Reclamation"):
// the owner grows the ring of two with three public items, drains, trims
// (back to two slots, freeing what no thief reads), and does it again
// while the thief steals; so thieves read rings that are being retired.
struct grow_trim_reclaim {
  static const int thieves = 1, items = 6, initial_capacity = 2;
  template <class S> static void owner(S &s) {
    s.push(1);
    s.push(2);
    s.push(3); // grows to 4
    s.drain();
    s.idle(); // shrinks to 2 when empty; reclaims
    s.push(4);
    s.push(5);
    s.push(6); // grows again
    s.drain();
    s.idle();
  }
  template <class S> static void thief(S &s, unsigned) { s.steal(3); }
};
