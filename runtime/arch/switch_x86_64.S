/* The fiber context switch for x86-64 (System V ABI).
 *
 * A suspended context is nothing but its stack pointer: the switch pushes
 * what the ABI says a callee must preserve onto the suspending stack, stores
 * the stack pointer, loads the other one, and pops the same frame there.
 *
 * Saved frame, at the saved stack pointer (lowest address first):
 *
 *     +0   MXCSR (4 bytes), x87 control word (2 bytes), 2 bytes unused
 *     +8   r15
 *     +16  r14
 *     +24  r13
 *     +32  r12
 *     +40  rbx
 *     +48  rbp
 *     +56  where to continue (the switch's return address)
 *
 * Only the callee-saved registers and the FP control words are saved: every
 * other register is dead across a call anyway, so the switch is exactly as
 * cheap as the ABI allows. The status flags of MXCSR and the x87 status word
 * are not callee-saved and are not kept (they travel along harmlessly).
 *
 * The switch leaves through an indirect jmp, not ret: a ret to an address
 * that was not pushed by the matching call always misses the return-stack
 * predictor, and measured here that cost 25 ns per switch against 11 ns
 * with the jmp (DESIGN.md, "Fibers").
 */

/* The functions are internal to the library: .hidden keeps calls direct
   (no PLT) when it is built as a shared object. */

        .text

/* void *fiber_arch_switch(void **save, void *to, void *transfer,
 *                         void *running_slot, const void *running)
 *   rdi: where to store the suspending context
 *   rsi: the context to resume
 *   rdx: transfer value, returned (rax) by the switch that resumes there
 *   rcx: the calling thread's note of its running fiber (overflow.h)
 *   r8:  what to note there: the fiber being resumed
 * The note is stored after the last use of the suspending stack and before
 * the first use of the resumed one, so the stack-overflow handler always
 * knows whose stack a fault is on. rcx was computed by the caller on this
 * thread, and is used before anything runs on another stack. */
        .globl  fiber_arch_switch
        .hidden fiber_arch_switch
        .type   fiber_arch_switch, @function
        .p2align 4
fiber_arch_switch:
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbp, 0
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbx, 0
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r12, 0
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r13, 0
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r14, 0
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r15, 0
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        stmxcsr (%rsp)
        fnstcw  4(%rsp)

        movq    %rsp, (%rdi)
        movq    %r8, (%rcx)
        /* From here on we run on the other stack. Its frame has the same
           layout as ours, so the CFI above stays true for it. */
        movq    %rsi, %rsp

        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %r15
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r15
        popq    %r14
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r14
        popq    %r13
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r13
        popq    %r12
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r12
        popq    %rbx
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbx
        popq    %rbp
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbp
        popq    %rcx
        .cfi_adjust_cfa_offset -8
        .cfi_register %rip, %rcx
        movq    %rdx, %rax
        jmpq    *%rcx
        .cfi_endproc
        .size   fiber_arch_switch, .-fiber_arch_switch

/* void *fiber_arch_make(void *stack_lo, void *stack_hi,
 *                       void (*start)(void *transfer, void *arg), void *arg)
 *   rdi: lowest usable byte (unused here: nothing is placed near it)
 *   rsi: one past the highest usable byte
 *   rdx: start, rcx: arg
 * Builds a saved frame at the top of the stack whose "return address" is
 * fiber_arch_trampoline, with start in r12 and arg in r13, and returns the
 * context (its stack pointer). The control words are the caller's current
 * ones: a fresh fiber inherits the FP environment of the code that made it,
 * as a callee inherits its caller's. */
        .globl  fiber_arch_make
        .hidden fiber_arch_make
        .type   fiber_arch_make, @function
        .p2align 4
fiber_arch_make:
        .cfi_startproc
        movq    %rsi, %rax
        andq    $-16, %rax
        /* 16 bytes of zeros above the frame: a null "return address" for
           debuggers walking past the trampoline. After the switch pops the
           64-byte frame the trampoline starts with rsp = top - 16, 16-byte
           aligned, so its call leaves start() with the ABI's alignment. */
        movq    $0, -8(%rax)
        movq    $0, -16(%rax)
        subq    $80, %rax
        leaq    fiber_arch_trampoline(%rip), %r8
        movq    %r8, 56(%rax)
        movq    $0, 48(%rax)            /* rbp = 0 ends frame-pointer walks */
        movq    $0, 40(%rax)            /* rbx */
        movq    %rdx, 32(%rax)          /* r12 = start */
        movq    %rcx, 24(%rax)          /* r13 = arg */
        movq    $0, 16(%rax)            /* r14 */
        movq    $0, 8(%rax)             /* r15 */
        movq    $0, (%rax)
        stmxcsr (%rax)
        fnstcw  4(%rax)
        ret
        .cfi_endproc
        .size   fiber_arch_make, .-fiber_arch_make

/* First code of a fresh fiber, entered by the switch's jmp with the
   transfer value in rax. start() must never return. */
        .type   fiber_arch_trampoline, @function
        .p2align 4
fiber_arch_trampoline:
        .cfi_startproc
        .cfi_undefined %rip             /* outermost frame: unwinders stop here */
        movq    %rax, %rdi
        movq    %r13, %rsi
        callq   *%r12
        ud2
        .cfi_endproc
        .size   fiber_arch_trampoline, .-fiber_arch_trampoline

        .section .note.GNU-stack, "", @progbits
