// The micro-benchmarks of oneTBB that have a spool counterpart (see
// micro.h): a round trip through this_task_arena::enqueue and a std::future, and
// the fire-and-forget tree in one task_group.
#include "micro.h"

#include <future>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

// Runs inside the suite's arena (impl_tbb.cpp): the enqueued task goes to
// its worker threads while this thread blocks on the std::future, as a
// client of spool's executor blocks on spool_future_result.
extern "C" int submit_rt_compute_tbb(void *state) {
  submit_rt_state *s = static_cast<submit_rt_state *>(state);
  long wrong = 0;
  for (long i = 1; i <= s->rounds; i++) {
    std::promise<long> promise;
    std::future<long> result = promise.get_future();
    tbb::this_task_arena::enqueue([&promise, i] { promise.set_value(i); });
    if (result.get() != i) wrong++;
  }
  s->wrong = wrong;
  return 0;
}

static tree_state *tree_running;

static void tree_node(tbb::task_group &group, int depth) {
  int me = tbb::this_task_arena::current_thread_index();
  if (me >= 0 && static_cast<unsigned>(me) < tree_running->slots)
    tree_running->counters[me].tasks++;
  if (depth == 0) return;
  group.run([&group, depth] { tree_node(group, depth - 1); });
  group.run([&group, depth] { tree_node(group, depth - 1); });
}

extern "C" int tree_compute_tbb(void *state) {
  tree_running = static_cast<tree_state *>(state);
  tbb::task_group group;
  int depth = tree_running->depth;
  group.run([&group, depth] { tree_node(group, depth); });
  group.wait();
  return 0;
}
