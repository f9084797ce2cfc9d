/* The fiber context switch on <ucontext.h>: the fallback for targets with
 * no hand-written switch, and a second implementation to test against
 * (meson -Dfiber_switch=ucontext).
 *
 * It provides the same two functions as switch_<arch>.S. A context is a
 * pointer to a ucontext_context: for a suspended fiber it lives in the frame
 * of the fiber_arch_switch() call that suspended it, on the fiber's own
 * stack; for a fresh fiber, at the top of its stack. The transfer value
 * travels in the target's slot, written by the switching side just before
 * swapcontext() and read by the resumed side just after: no thread-local
 * is involved, so it stays right when a fiber resumes on another thread.
 *
 * It is slow (glibc's swapcontext() saves and restores the signal mask with
 * a system call: about 2 us against about 10 ns for the assembly switch),
 * and the signal mask it restores is the one saved with the context: a
 * fresh fiber gets the mask of the thread that called fiber_arch_make().
 * The runtime keeps one mask on all its workers, so this does not show.
 */
#include <stdint.h>
#include <stdlib.h>
#include <ucontext.h>

typedef void (*fiber_arch_start)(void *transfer, void *arg);

/* The prototypes are in fiber.c, the only caller; repeated here so that a
   mismatch is a compile error in the one file that implements both. */
void *fiber_arch_switch(void **save, void *to, void *transfer, void *running_slot,
                        const void *running);
void *fiber_arch_make(void *stack_lo, void *stack_hi, fiber_arch_start start, void *arg);

typedef struct ucontext_context {
  ucontext_t uc;
  /* Written by the side that switches to this context, read by this side
     once it runs again. */
  void *transfer;
  /* Fresh contexts only: what fiber_arch_trampoline() calls. */
  fiber_arch_start start;
  void *arg;
} ucontext_context;

__attribute__((visibility("hidden"))) void *
fiber_arch_switch(void **save, void *to, void *transfer, void *running_slot, const void *running) {
  ucontext_context self;
  /* AddressSanitizer intercepts swapcontext() and clears the shadow of the
     target's uc_stack; getcontext() leaves uc_stack alone, so zero it:
     ASan then skips this context when something switches back to it. */
  self.uc.uc_stack.ss_sp = NULL;
  self.uc.uc_stack.ss_size = 0;
  *save = &self;
  ucontext_context *target = to;
  target->transfer = transfer;
  /* The note of the running fiber (overflow.h), as late as C allows: the
     call into swapcontext() still pushes a return address on this stack,
     so an overflow that faults on exactly that push is reported as a plain
     SIGSEGV in this fallback. running_slot belongs to this thread, which
     is where this store runs. */
  *(const void *volatile *)running_slot = running;
  if (swapcontext(&self.uc, &target->uc) != 0) abort(); /* only fails on a bad context */
  return self.transfer;
}

/* makecontext() passes int arguments only, so the context's address comes
   in two 32-bit halves. */
static void fiber_arch_trampoline(unsigned hi, unsigned lo) {
  ucontext_context *c = (ucontext_context *)(((uintptr_t)hi << 16 << 16) | (uintptr_t)lo);
  c->start(c->transfer, c->arg);
  abort(); /* start() must never return */
}

__attribute__((visibility("hidden"))) void *fiber_arch_make(void *stack_lo, void *stack_hi,
                                                            fiber_arch_start start, void *arg) {
  /* The context sits at the top of the stack, below stack_hi, 16-byte
     aligned; the stack proper is everything under it. */
  uintptr_t top = ((uintptr_t)stack_hi - sizeof(ucontext_context)) & ~(uintptr_t)15;
  ucontext_context *c = (ucontext_context *)top;
  if (getcontext(&c->uc) != 0) abort(); /* makecontext() needs an initialised context */
  c->uc.uc_stack.ss_sp = stack_lo;
  c->uc.uc_stack.ss_size = (size_t)(top - (uintptr_t)stack_lo);
  c->uc.uc_link = NULL; /* never used: the trampoline does not return */
  c->transfer = NULL;
  c->start = start;
  c->arg = arg;
  uintptr_t p = (uintptr_t)c;
  /* The shifts by 16 twice keep this well-defined where uintptr_t is 32 bits. */
  makecontext(&c->uc, (void (*)(void))fiber_arch_trampoline, 2, (unsigned)(p >> 16 >> 16),
              (unsigned)(p & 0xffffffffu));
  return c;
}
