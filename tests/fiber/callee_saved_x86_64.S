/* uint64_t callee_saved_probe(void (*fn)(void *), void *arg, uint64_t seed)
 *
 * Loads seed, seed+1, ... into every callee-saved register (rbx, rbp,
 * r12-r15), calls fn(arg), and returns a mask of the registers that did not
 * come back with their value (bit 0 rbx, 1 rbp, 2 r12, ... 5 r15). With fn
 * switching to another fiber that does the same with another seed, a switch
 * that loses or mixes up a register shows in the mask. Written in assembly
 * because C cannot pin values in callee-saved registers across a call. */
        .text
        .globl  callee_saved_probe
        .type   callee_saved_probe, @function
        .p2align 4
callee_saved_probe:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        pushq   %rdx                    /* the seed; 7 pushes keep rsp aligned for the call */
        movq    %rdx, %rbx
        leaq    1(%rdx), %rbp
        leaq    2(%rdx), %r12
        leaq    3(%rdx), %r13
        leaq    4(%rdx), %r14
        leaq    5(%rdx), %r15
        movq    %rdi, %rax
        movq    %rsi, %rdi
        callq   *%rax
        movq    (%rsp), %rdx
        xorl    %eax, %eax
        cmpq    %rdx, %rbx
        je      1f
        orl     $1, %eax
1:      leaq    1(%rdx), %rcx
        cmpq    %rcx, %rbp
        je      2f
        orl     $2, %eax
2:      leaq    2(%rdx), %rcx
        cmpq    %rcx, %r12
        je      3f
        orl     $4, %eax
3:      leaq    3(%rdx), %rcx
        cmpq    %rcx, %r13
        je      4f
        orl     $8, %eax
4:      leaq    4(%rdx), %rcx
        cmpq    %rcx, %r14
        je      5f
        orl     $16, %eax
5:      leaq    5(%rdx), %rcx
        cmpq    %rcx, %r15
        je      6f
        orl     $32, %eax
6:      popq    %rdx
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .size   callee_saved_probe, .-callee_saved_probe

        .section .note.GNU-stack, "", @progbits
