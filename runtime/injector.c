/* The injection queue: work from threads that are not workers.
 *
 * A mutex-protected FIFO. Submissions from outside are not the hot path
 * (the per-task cost there is dominated by the future and the wake-up);
 * what matters is that idle workers can see it is empty without taking the
 * lock, hence `count`. */
#include "internal.h"

void injector_init(injector *q) {
  pthread_mutex_init(&q->lock, NULL);
  q->head = q->tail = NULL;
  atomic_init(&q->count, 0);
}

void injector_destroy(injector *q) {
  pthread_mutex_destroy(&q->lock);
}

void injector_push(injector *q, work_item *item) {
  item->next = NULL;
  pthread_mutex_lock(&q->lock);
  if (q->tail)
    q->tail->next = item;
  else
    q->head = item;
  q->tail = item;
  /* release: pairs with the acquire load in injector_maybe_nonempty() and
     the seq_cst load in the sleep re-check (after park_notify()'s fence). */
  store_release(&q->count, load_relaxed(&q->count) + 1);
  pthread_mutex_unlock(&q->lock);
}

work_item *injector_take(injector *q) {
  if (!injector_maybe_nonempty(q)) return NULL;
  pthread_mutex_lock(&q->lock);
  work_item *item = q->head;
  if (item) {
    q->head = item->next;
    if (!q->head) q->tail = NULL;
    /* relaxed: under the lock; the count only needs to reach readers. */
    store_relaxed(&q->count, load_relaxed(&q->count) - 1);
  }
  pthread_mutex_unlock(&q->lock);
  return item;
}
