/* The fiber context switch for AArch64 (AAPCS64).
 *
 * A suspended context is nothing but its stack pointer: the switch stores
 * what the ABI says a callee must preserve on the suspending stack, stores
 * sp, loads the other one, and reloads the same frame there.
 *
 * Saved frame, at the saved sp (176 bytes, keeping sp 16-byte aligned):
 *
 *     +0   x19 x20     +48  x25 x26     +96  d8  d9      +144 d14 d15
 *     +16  x21 x22     +64  x27 x28     +112 d10 d11     +160 FPCR
 *     +32  x23 x24     +80  x29 x30     +128 d12 d13     +168 unused
 *
 * x30 (the link register) is where the switch continues. Only the low 64
 * bits of v8-v15 are callee-saved (AAPCS64 6.1.2), hence d8-d15. FPSR (the
 * cumulative exception flags) is not callee-saved and is not kept.
 *
 * The switch leaves through br, not ret: ret would pop the return-address
 * predictor, which always mispredicts here because the target was not
 * reached by the matching bl (DESIGN.md, "Fibers").
 *
 * Not handled: BTI (with -mbranch-protection=bti the br into a caller's
 * continuation would need a landing pad) and pointer authentication of x30.
 */

        .text

/* void *fiber_arch_switch(void **save, void *to, void *transfer,
 *                         void *running_slot, const void *running)
 *   x0: where to store the suspending context
 *   x1: the context to resume
 *   x2: transfer value, returned (x0) by the switch that resumes there
 *   x3: the calling thread's note of its running fiber (overflow.h)
 *   x4: what to note there: the fiber being resumed
 * The note is stored after the last use of the suspending stack and before
 * the first use of the resumed one, so the stack-overflow handler always
 * knows whose stack a fault is on. x3 was computed by the caller on this
 * thread, and is used before anything runs on another stack. */
        .globl  fiber_arch_switch
        .hidden fiber_arch_switch
        .type   fiber_arch_switch, %function
        .p2align 4
fiber_arch_switch:
        .cfi_startproc
        sub     sp, sp, #176
        .cfi_adjust_cfa_offset 176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        .cfi_rel_offset x19, 0
        .cfi_rel_offset x20, 8
        .cfi_rel_offset x21, 16
        .cfi_rel_offset x22, 24
        .cfi_rel_offset x23, 32
        .cfi_rel_offset x24, 40
        .cfi_rel_offset x25, 48
        .cfi_rel_offset x26, 56
        .cfi_rel_offset x27, 64
        .cfi_rel_offset x28, 72
        .cfi_rel_offset x29, 80
        .cfi_rel_offset x30, 88
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x11, fpcr
        str     x11, [sp, #160]

        mov     x10, sp
        str     x10, [x0]
        str     x4, [x3]
        /* From here on we run on the other stack. Its frame has the same
           layout as ours, so the CFI above stays true for it. */
        mov     sp, x1

        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        ldr     x9, [sp, #160]
        /* Writing FPCR can be context-synchronising (slow) on some cores;
           almost always both sides have the same value, so skip it then. */
        cmp     x9, x11
        b.eq    1f
        msr     fpcr, x9
1:      add     sp, sp, #176
        .cfi_adjust_cfa_offset -176
        mov     x0, x2
        br      x30
        .cfi_endproc
        .size   fiber_arch_switch, .-fiber_arch_switch

/* void *fiber_arch_make(void *stack_lo, void *stack_hi,
 *                       void (*start)(void *transfer, void *arg), void *arg)
 *   x0: lowest usable byte (unused here), x1: one past the highest,
 *   x2: start, x3: arg
 * Builds a saved frame at the top of the stack whose x30 is
 * fiber_arch_trampoline, with start in x19 and arg in x20, and returns the
 * context (its sp). FPCR is the caller's current one: a fresh fiber inherits
 * the FP environment of the code that made it, as a callee does. */
        .globl  fiber_arch_make
        .hidden fiber_arch_make
        .type   fiber_arch_make, %function
        .p2align 4
fiber_arch_make:
        .cfi_startproc
        and     x9, x1, #-16
        /* 16 bytes of zeros above the frame: a null frame record for
           debuggers walking past the trampoline. */
        stp     xzr, xzr, [x9, #-16]!
        sub     x9, x9, #176
        stp     x2, x3, [x9, #0]        /* x19 = start, x20 = arg */
        stp     xzr, xzr, [x9, #16]
        stp     xzr, xzr, [x9, #32]
        stp     xzr, xzr, [x9, #48]
        stp     xzr, xzr, [x9, #64]
        adr     x10, fiber_arch_trampoline
        stp     xzr, x10, [x9, #80]     /* x29 = 0 ends frame-record walks */
        stp     xzr, xzr, [x9, #96]
        stp     xzr, xzr, [x9, #112]
        stp     xzr, xzr, [x9, #128]
        stp     xzr, xzr, [x9, #144]
        mrs     x10, fpcr
        stp     x10, xzr, [x9, #160]
        mov     x0, x9
        ret
        .cfi_endproc
        .size   fiber_arch_make, .-fiber_arch_make

/* First code of a fresh fiber, entered by the switch's br with the
   transfer value already in x0. start() must never return. */
        .type   fiber_arch_trampoline, %function
        .p2align 4
fiber_arch_trampoline:
        .cfi_startproc
        .cfi_undefined x30              /* outermost frame: unwinders stop here */
        mov     x1, x20
        blr     x19
        brk     #1
        .cfi_endproc
        .size   fiber_arch_trampoline, .-fiber_arch_trampoline

        .section .note.GNU-stack, "", %progbits
