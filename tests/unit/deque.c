/* The deque (runtime/deque.h), single-threaded: LIFO for the owner, FIFO
 * for thieves, the owner-private list and its publication (also out of
 * memory), growth and wrap-around. The concurrent properties are in
 * tests/stress/deque_stress.c and the Relacy model. */
#include <deque.h>

#include "sanitizers.h"
#include "suite.h"

/* Ring growth out of memory (the publication tests below): the deque's
   rings come from calloc, which this program replaces, forwarding to
   glibc's unless failures are armed. Not under ASan or TSan, whose
   allocators replace calloc themselves. */
#if defined(TEST_ASAN) || defined(TEST_TSAN)
#define CALLOC_FAILS 0
#else
#define CALLOC_FAILS 1
static int calloc_failures; /* the next ones fail (armed by a test only) */
extern void *__libc_calloc(size_t n, size_t size);
void *calloc(size_t n, size_t size) {
  if (calloc_failures > 0) {
    calloc_failures--;
    return NULL;
  }
  return __libc_calloc(n, size);
}
#endif

SPOOL_SUITE(deque);

#define N 4096
static work_item items[N];

/* deque_push, when no thief has asked for work (no request to answer). */
static bool push(deque *d, work_item *it) {
  bool answered = true;
  bool ok = deque_push(d, it, &answered);
  cr_assert(!answered, "a push answered a request nobody made");
  return ok;
}

static int index_of(work_item *it) {
  return it ? (int)(it - items) : -1;
}

static int steal_index(deque *d) {
  work_item *it = NULL;
  steal_status s = deque_steal(d, &it);
  if (s == STEAL_EMPTY) {
    cr_assert_null(it);
    return -1;
  }
  cr_assert_eq(s, STEAL_OK, "a lone thief lost a race");
  return index_of(it);
}

Test(deque, empty) {
  deque d;
  cr_assert(deque_init(&d, 3));
  cr_assert_null(deque_pop(&d));
  cr_assert_eq(steal_index(&d), -1);
  cr_assert_eq(deque_size(&d), 0);
  cr_assert(!deque_nonempty_seq_cst(&d));
  cr_assert_null(deque_peek_bottom(&d));
  deque_destroy(&d);
}

Test(deque, owner_pops_lifo) {
  deque d;
  cr_assert(deque_init(&d, 4));
  for (int i = 0; i < 10; i++)
    cr_assert(push(&d, &items[i]));
  cr_assert_eq(deque_size(&d), 10);
  cr_assert_eq(index_of(deque_peek_bottom(&d)), 9);
  for (int i = 9; i >= 0; i--)
    cr_assert_eq(index_of(deque_pop(&d)), i);
  cr_assert_null(deque_pop(&d));
  deque_destroy(&d);
}

Test(deque, thief_steals_fifo) {
  deque d;
  cr_assert(deque_init(&d, 4));
  for (int i = 0; i < 10; i++)
    cr_assert(push(&d, &items[i]));
  cr_assert(deque_nonempty_seq_cst(&d));
  for (int i = 0; i < 5; i++)
    cr_assert_eq(steal_index(&d), i);
  /* the owner takes from the other end */
  cr_assert_eq(index_of(deque_pop(&d)), 9);
  for (int i = 5; i < 9; i++)
    cr_assert_eq(steal_index(&d), i);
  cr_assert_eq(steal_index(&d), -1);
  cr_assert_null(deque_pop(&d));
  deque_destroy(&d);
}

Test(deque, last_item_goes_to_one_side) {
  deque d;
  cr_assert(deque_init(&d, 2));
  cr_assert(push(&d, &items[0]));
  cr_assert_eq(steal_index(&d), 0);
  cr_assert_null(deque_pop(&d));
  cr_assert(push(&d, &items[1]));
  cr_assert_eq(index_of(deque_pop(&d)), 1);
  cr_assert_eq(steal_index(&d), -1);
  deque_destroy(&d);
}

Test(deque, private_items_are_invisible_until_published) {
  deque d;
  cr_assert(deque_init(&d, 4));
  for (int i = 0; i < 8; i++)
    deque_push_private(&d, &items[i]);
  cr_assert(!deque_publish_requested(&d));
  cr_assert(!deque_nonempty_seq_cst(&d));
  cr_assert_eq(steal_index(&d), -1);
  /* the failed steal asked for work; publishing answers it */
  cr_assert(deque_publish_requested(&d));
  cr_assert(deque_publish(&d, true));
  cr_assert(!deque_publish_requested(&d));
  cr_assert(deque_nonempty_seq_cst(&d));
  for (int i = 0; i < 8; i++)
    cr_assert_eq(steal_index(&d), i);
  cr_assert_eq(steal_index(&d), -1);
  deque_destroy(&d);
}

Test(deque, publishing_nothing_leaves_the_request) {
  deque d;
  cr_assert(deque_init(&d, 4));
  cr_assert_eq(steal_index(&d), -1);
  cr_assert(deque_publish_requested(&d));
  cr_assert(!deque_publish(&d, true), "nothing private, yet a request was answered");
  cr_assert(deque_publish_requested(&d));
  /* a public push answers it */
  bool answered = false;
  cr_assert(deque_push(&d, &items[0], &answered));
  cr_assert(answered);
  cr_assert(!deque_publish_requested(&d));
  cr_assert_eq(steal_index(&d), 0);
  deque_destroy(&d);
}

Test(deque, partial_publication_keeps_the_bottom_private) {
  deque d;
  cr_assert(deque_init(&d, 4));
  for (int i = 0; i < 10; i++)
    deque_push_private(&d, &items[i]);
  deque_publish(&d, false);
  int stolen = 0;
  while (steal_index(&d) == stolen)
    stolen++;
  cr_assert(stolen >= 1 && stolen < 10, "publish(false) published %d of 10", stolen);
  /* the owner still has the rest, newest first */
  for (int i = 9; i >= stolen; i--)
    cr_assert_eq(index_of(deque_pop(&d)), i);
  cr_assert_null(deque_pop(&d));
  deque_destroy(&d);
}

Test(deque, owner_pops_private_then_public) {
  deque d;
  cr_assert(deque_init(&d, 4));
  for (int i = 0; i < 4; i++)
    cr_assert(push(&d, &items[i])); /* public */
  for (int i = 4; i < 8; i++)
    deque_push_private(&d, &items[i]);
  for (int i = 7; i >= 0; i--)
    cr_assert_eq(index_of(deque_pop(&d)), i);
  cr_assert_null(deque_pop(&d));
  deque_destroy(&d);
}

Test(deque, take_private_bottom) {
  deque d;
  cr_assert(deque_init(&d, 4));
  deque_push_private(&d, &items[0]);
  cr_assert(deque_take_private_bottom(&d, &items[0]));
  cr_assert_null(deque_pop(&d));

  /* not the bottom item */
  deque_push_private(&d, &items[1]);
  deque_push_private(&d, &items[2]);
  cr_assert(!deque_take_private_bottom(&d, &items[1]));
  cr_assert(deque_take_private_bottom(&d, &items[2]));
  cr_assert(deque_take_private_bottom(&d, &items[1]));

  /* published: no longer private */
  deque_push_private(&d, &items[3]);
  deque_publish(&d, true);
  cr_assert(!deque_take_private_bottom(&d, &items[3]));
  cr_assert_eq(steal_index(&d), 3);
  cr_assert_null(deque_pop(&d));
  deque_destroy(&d);
}

Test(deque, grows_from_a_small_ring) {
  for (int mode = 0; mode < 2; mode++) {
    deque d;
    cr_assert(deque_init(&d, 1)); /* room for 2 */
    for (int i = 0; i < N; i++)
      if (mode)
        deque_push_private(&d, &items[i]);
      else
        cr_assert(push(&d, &items[i]));
    cr_assert_eq(deque_size(&d), N);
    if (mode) deque_publish(&d, true);
    for (int i = 0; i < N / 2; i++)
      cr_assert_eq(steal_index(&d), i);
    for (int i = N - 1; i >= N / 2; i--)
      cr_assert_eq(index_of(deque_pop(&d)), i);
    cr_assert_null(deque_pop(&d));
    deque_destroy(&d);
  }
}

/* A publication that needs a bigger ring and gets no memory publishes the
   oldest items that fit and keeps the rest private, in order: thieves get
   the oldest, the owner pops the newest first, nothing is lost or
   doubled. */
Test(deque, publication_out_of_memory_publishes_what_fits) {
#if CALLOC_FAILS
  deque d;
  cr_assert(deque_init(&d, 1)); /* room for 2 */
  for (int i = 0; i < 5; i++)
    deque_push_private(&d, &items[i]);
  calloc_failures = 1000;
  cr_assert(!deque_publish(&d, true)); /* no request to answer */
  calloc_failures = 0;
  cr_assert_eq(deque_ring_bytes(&d), sizeof(deque_buffer) + 2 * sizeof(work_item *),
               "the ring grew although memory ran out");
  cr_assert_eq(steal_index(&d), 0);
  cr_assert_eq(steal_index(&d), 1);
  cr_assert_eq(steal_index(&d), -1, "more was published than fits");
  for (int i = 4; i >= 2; i--)
    cr_assert_eq(index_of(deque_pop(&d)), i);
  cr_assert_null(deque_pop(&d));
  /* With memory back, the same publication grows the ring. */
  for (int i = 5; i < 10; i++)
    deque_push_private(&d, &items[i]);
  deque_publish(&d, true);
  for (int i = 5; i < 10; i++)
    cr_assert_eq(steal_index(&d), i);
  deque_destroy(&d);
#else
  cr_skip_test("the sanitizer's allocator owns calloc");
#endif
}

/* A push needs room for the private items and itself (all go public): out
   of memory it fails and changes nothing. */
Test(deque, push_out_of_memory_changes_nothing) {
#if CALLOC_FAILS
  deque d;
  cr_assert(deque_init(&d, 1)); /* room for 2 */
  deque_push_private(&d, &items[0]);
  deque_push_private(&d, &items[1]);
  calloc_failures = 1000;
  bool answered = true;
  cr_assert(!deque_push(&d, &items[2], &answered));
  calloc_failures = 0;
  cr_assert(!answered);
  cr_assert_eq(steal_index(&d), -1, "a failed push published something");
  cr_assert_eq(deque_size(&d), 2);
  cr_assert(deque_take_private_bottom(&d, &items[1]));
  cr_assert(deque_take_private_bottom(&d, &items[0]));
  cr_assert_null(deque_pop(&d));
  deque_destroy(&d);
#else
  cr_skip_test("the sanitizer's allocator owns calloc");
#endif
}

/* Indices keep growing while the ring is reused: wrap around many times,
   with growth in the middle of a wrapped ring. */
Test(deque, wraps_around) {
  deque d;
  cr_assert(deque_init(&d, 2)); /* room for 4 */
  int next = 0, taken = 0;
  for (int round = 0; round < 500; round++) {
    int pushes = 1 + round % 7;
    for (int k = 0; k < pushes; k++, next++)
      cr_assert(push(&d, &items[next % N]));
    int steals = round % 3;
    for (int k = 0; k < steals && taken < next; k++, taken++)
      cr_assert_eq(steal_index(&d), taken % N);
  }
  /* drain from the top: FIFO order is intact */
  while (taken < next) {
    cr_assert_eq(steal_index(&d), taken % N);
    taken++;
  }
  cr_assert_eq(steal_index(&d), -1);
  cr_assert_null(deque_pop(&d));
  deque_destroy(&d);
}
