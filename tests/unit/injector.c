/* The injection queue (runtime/injector.c): FIFO, count, empty. */
#include <internal.h>

#include "suite.h"

SPOOL_SUITE(injector);

Test(injector, fifo) {
  injector q;
  injector_init(&q);
  work_item items[100];
  cr_assert_null(injector_take(&q));
  cr_assert(!injector_maybe_nonempty(&q));
  for (int i = 0; i < 100; i++)
    injector_push(&q, &items[i]);
  cr_assert(injector_maybe_nonempty(&q));
  for (int i = 0; i < 50; i++)
    cr_assert_eq(injector_take(&q), &items[i]);
  for (int i = 0; i < 10; i++)
    injector_push(&q, &items[i]);
  for (int i = 50; i < 100; i++)
    cr_assert_eq(injector_take(&q), &items[i]);
  for (int i = 0; i < 10; i++)
    cr_assert_eq(injector_take(&q), &items[i]);
  cr_assert_null(injector_take(&q));
  cr_assert(!injector_maybe_nonempty(&q));
  injector_destroy(&q);
}
