// Relacy model of the executor hand-off (runtime/executor.c): a thread
// outside the executor that may still touch it after its last task ran (a
// future's completion signalling a continuation, a cancel counting a
// finished task) brackets that with handoff_begin()/handoff_end(), and
// spool_executor_destroy() frees the executor only once no hand-off is in
// flight.
//
//   hand-off:  handoffs += 1 (seq_cst RMW); e = ex (seq_cst load);
//              if e: use the executor; handoffs -= 1 (release RMW)
//   destroy:   ex = NULL (seq_cst store); wait until handoffs == 0
//              (seq_cst load); free the executor
//
// Invariant: the executor is never used after it is freed. It holds
// because the two sides form a Dekker pattern in the single total order
// of seq_cst operations: either destroy's load sees the increment (and
// waits for the release decrement, which it acquires), or the hand-off's
// load of ex comes after the store of NULL and sees it.
//
// Negative control: destroy's load of handoffs as an acquire (what the code
// did until a review found it). An acquire load is outside the total
// order, so it may read 0 while the hand-off's load of ex still saw the
// executor: a use after free that Relacy must find.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <streambuf>
#include <string>

#include <relacy/relacy.hpp>

#include "harness.hpp"

namespace model {

template <bool AcquireOnly> struct handoff : rl::test_suite<handoff<AcquireOnly>, 3> {
  rl::atomic<int> ex;       // 1: the executor, 0: NULL
  rl::atomic<int> handoffs; // hand-offs in flight
  rl::var<int> freed;       // the executor's memory: 1 once destroy freed it

  void before() {
    ex($) = 1;
    handoffs($) = 0;
    freed($) = 0;
  }

  void destroy() {
    ex.store(0, rl::memory_order_seq_cst);
    for (;;) {
      int h; // (Relacy's orders are macros: no ?: between them)
      if (AcquireOnly)
        h = handoffs.load(rl::memory_order_acquire);
      else
        h = handoffs.load(rl::memory_order_seq_cst);
      if (h == 0) break;
      rl::yield(1, $);
    }
    freed($) = 1; // executor_free(): a plain write, racing any use
  }

  void hand_off() {
    handoffs.fetch_add(1, rl::memory_order_seq_cst);
    if (ex.load(rl::memory_order_seq_cst)) {
      int f = freed($); // a use of the executor (a plain read)
      RL_ASSERT(f == 0);
    }
    handoffs.fetch_sub(1, rl::memory_order_release);
  }

  void thread(unsigned id) {
    if (id == 0)
      destroy();
    else
      hand_off(); // two outside threads
  }
};

} // namespace model

int main() {
  using harness::bounded_search;
  using harness::expect_caught;
  using harness::expect_pass;
  using harness::random_search;
  harness::tally t;
  expect_pass<model::handoff<false>>(t, "handoff/destroy against two hand-offs",
                                     random_search(200000));
  expect_pass<model::handoff<false>>(t, "handoff/destroy against two hand-offs",
                                     bounded_search(3));
  expect_caught<model::handoff<true>>(
      t, "handoff/destroy against two hand-offs, destroy loading handoffs as an acquire",
      random_search(200000));
  return harness::finish(t);
}
