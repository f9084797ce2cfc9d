// Model-checks the Chase-Lev deque (chase_lev_model.hpp) with Relacy, and
// checks that the checker can fail: each negative control is the same
// model with one ordering weakened, and Relacy must catch it.
//
// Prints one line per run and a final "N passed, M failed"; exits 0 only if
// the model passes every search and every negative control is caught.
//
// Build: g++ -std=c++17 -O2 -fno-sized-deallocation -fno-lifetime-dse
// -I/usr/include chase_lev.cpp (run.sh does it).
//  - Relacy replaces the global operator delete(void *) but not the sized
//    one that C++14 and later call: without -fno-sized-deallocation the
//    first delete in a model aborts in free().
//  - Relacy detects an access to freed memory by a mark that the destructor
//    of each rl::atomic clears; GCC at -O1 and above deletes that store as
//    dead (the object's lifetime ends), so without -fno-lifetime-dse
//    (GCC only; Clang keeps the store) use-after-free goes unreported. The
//    free-on-grow controls check that it is reported.
//  - Relacy's relacy_std.hpp of Debian's snapshot does not build with
//    g++ 12, so the models use relacy.hpp and rl:: names directly.

// Standard headers first: relacy.hpp redefines new, delete and assert.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <streambuf>
#include <string>

#include <relacy/relacy.hpp>

#include "harness.hpp"

// The variants of chase_lev_model.hpp (values of CHASE_LEV_WEAKEN).
#define CL_EXACT                 0 // the paper's orderings
#define CL_TAKE_NO_FENCE         1 // take(): the seq_cst fence removed
#define CL_STEAL_NO_FENCE        2 // steal(): the seq_cst fence removed
#define CL_PUSH_NO_RELEASE_FENCE 3 // push(): the release fence removed
#define CL_STEAL_RELAXED_BOTTOM  4 // steal(): bottom loaded relaxed, not acquire
#define CL_GROW_RELAXED          5 // grow(): the new ring published relaxed, not release
#define CL_FREE_ON_GROW          6 // grow(): the old ring freed at once, not retired

namespace exact {
#define CHASE_LEV_WEAKEN CL_EXACT
#include "chase_lev_model.hpp"
#undef CHASE_LEV_WEAKEN
} // namespace exact

namespace take_no_fence {
#define CHASE_LEV_WEAKEN CL_TAKE_NO_FENCE
#include "chase_lev_model.hpp"
#undef CHASE_LEV_WEAKEN
} // namespace take_no_fence

namespace steal_no_fence {
#define CHASE_LEV_WEAKEN CL_STEAL_NO_FENCE
#include "chase_lev_model.hpp"
#undef CHASE_LEV_WEAKEN
} // namespace steal_no_fence

namespace push_no_release_fence {
#define CHASE_LEV_WEAKEN CL_PUSH_NO_RELEASE_FENCE
#include "chase_lev_model.hpp"
#undef CHASE_LEV_WEAKEN
} // namespace push_no_release_fence

namespace steal_relaxed_bottom {
#define CHASE_LEV_WEAKEN CL_STEAL_RELAXED_BOTTOM
#include "chase_lev_model.hpp"
#undef CHASE_LEV_WEAKEN
} // namespace steal_relaxed_bottom

namespace grow_relaxed {
#define CHASE_LEV_WEAKEN CL_GROW_RELAXED
#include "chase_lev_model.hpp"
#undef CHASE_LEV_WEAKEN
} // namespace grow_relaxed

namespace free_on_grow {
#define CHASE_LEV_WEAKEN CL_FREE_ON_GROW
#include "chase_lev_model.hpp"
#undef CHASE_LEV_WEAKEN
} // namespace free_on_grow

int main() {
  using harness::bounded_search;
  using harness::expect_caught;
  using harness::expect_pass;
  using harness::expect_reached;
  using harness::random_search;
  harness::tally t;

  // The model of the paper: random interleavings (and, for each load, a
  // random choice among the stores it may read), then a systematic search of
  // every execution with at most `bound` preemptions.
  expect_pass<exact::scenario<exact::grow_one_thief>>(t, "chase_lev/grow_one_thief",
                                                      random_search(300000));
  expect_pass<exact::scenario<exact::two_thieves>>(t, "chase_lev/two_thieves",
                                                   random_search(300000));
  expect_pass<exact::scenario<exact::last_item>>(t, "chase_lev/last_item", random_search(100000));
  expect_pass<exact::scenario<exact::last_item>>(t, "chase_lev/last_item", bounded_search(3));
  expect_pass<exact::scenario<exact::grow_one_thief>>(t, "chase_lev/grow_one_thief",
                                                      bounded_search(2));
  expect_pass<exact::scenario<exact::two_thieves>>(t, "chase_lev/two_thieves", bounded_search(2));
  if (harness::deep()) // about 2.5 minutes: 11 million executions
    expect_pass<exact::scenario<exact::grow_one_thief>>(t, "chase_lev/grow_one_thief",
                                                        bounded_search(3));
  expect_reached(t, "chase_lev: paths reached by the searches above", exact::path_names,
                 exact::path_seen);

  // Negative controls: the same model with one ordering weakened; each must
  // be caught.
  expect_caught<take_no_fence::scenario<take_no_fence::grow_one_thief>>(
      t, "chase_lev/grow_one_thief, take() without its seq_cst fence", random_search(300000));
  expect_caught<take_no_fence::scenario<take_no_fence::last_item>>(
      t, "chase_lev/last_item, take() without its seq_cst fence", bounded_search(2));
  expect_caught<steal_no_fence::scenario<steal_no_fence::grow_one_thief>>(
      t, "chase_lev/grow_one_thief, steal() without its seq_cst fence", random_search(300000));
  expect_caught<push_no_release_fence::scenario<push_no_release_fence::grow_one_thief>>(
      t, "chase_lev/grow_one_thief, push() without its release fence", random_search(300000));
  expect_caught<steal_relaxed_bottom::scenario<steal_relaxed_bottom::grow_one_thief>>(
      t, "chase_lev/grow_one_thief, steal() loading bottom relaxed", random_search(300000));
  expect_caught<grow_relaxed::scenario<grow_relaxed::grow_one_thief>>(
      t, "chase_lev/grow_one_thief, grow() publishing the ring relaxed", random_search(300000));
  expect_caught<free_on_grow::scenario<free_on_grow::grow_one_thief>>(
      t, "chase_lev/grow_one_thief, grow() freeing the old ring at once", bounded_search(1));

  return harness::finish(t);
}
