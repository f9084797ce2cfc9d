/* uint64_t callee_saved_probe(void (*fn)(void *), void *arg, uint64_t seed)
 *
 * Loads seed+1 ... seed+10 into x19-x28 and seed+11 ... seed+18 into d8-d15,
 * keeps the frame pointer x29, calls fn(arg), and returns a mask of the
 * registers that did not come back with their value (bits 0-9 x19-x28,
 * 10-17 d8-d15, 18 x29). With fn switching to another fiber that does the
 * same with another seed, a switch that loses or mixes up a register shows
 * in the mask. Written in assembly because C cannot pin values in
 * callee-saved registers across a call. */
        .macro  check_x reg, off, bit
        add     x9, x2, #\off
        cmp     \reg, x9
        cset    x10, ne
        orr     x0, x0, x10, lsl #\bit
        .endm
        .macro  load_d reg, off
        add     x9, x2, #\off
        fmov    \reg, x9
        .endm
        .macro  check_d reg, off, bit
        add     x9, x2, #\off
        fmov    x11, \reg
        cmp     x11, x9
        cset    x10, ne
        orr     x0, x0, x10, lsl #\bit
        .endm

        .text
        .globl  callee_saved_probe
        .type   callee_saved_probe, %function
        .p2align 4
callee_saved_probe:
        stp     x29, x30, [sp, #-176]!
        mov     x29, sp
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        stp     x23, x24, [sp, #48]
        stp     x25, x26, [sp, #64]
        stp     x27, x28, [sp, #80]
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        str     x2, [sp, #160]
        add     x19, x2, #1
        add     x20, x2, #2
        add     x21, x2, #3
        add     x22, x2, #4
        add     x23, x2, #5
        add     x24, x2, #6
        add     x25, x2, #7
        add     x26, x2, #8
        add     x27, x2, #9
        add     x28, x2, #10
        load_d  d8, 11
        load_d  d9, 12
        load_d  d10, 13
        load_d  d11, 14
        load_d  d12, 15
        load_d  d13, 16
        load_d  d14, 17
        load_d  d15, 18
        mov     x9, x0
        mov     x0, x1
        blr     x9
        ldr     x2, [sp, #160]
        mov     x0, #0
        check_x x19, 1, 0
        check_x x20, 2, 1
        check_x x21, 3, 2
        check_x x22, 4, 3
        check_x x23, 5, 4
        check_x x24, 6, 5
        check_x x25, 7, 6
        check_x x26, 8, 7
        check_x x27, 9, 8
        check_x x28, 10, 9
        check_d d8, 11, 10
        check_d d9, 12, 11
        check_d d10, 13, 12
        check_d d11, 14, 13
        check_d d12, 15, 14
        check_d d13, 16, 15
        check_d d14, 17, 16
        check_d d15, 18, 17
        mov     x9, sp
        cmp     x29, x9
        cset    x10, ne
        orr     x0, x0, x10, lsl #18
        ldp     x19, x20, [sp, #16]
        ldp     x21, x22, [sp, #32]
        ldp     x23, x24, [sp, #48]
        ldp     x25, x26, [sp, #64]
        ldp     x27, x28, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        ldp     x29, x30, [sp], #176
        ret
        .size   callee_saved_probe, .-callee_saved_probe

        .section .note.GNU-stack, "", %progbits
