#!/bin/sh
# Cross-compiles the AArch64 fiber switch (runtime/arch/switch_aarch64.S)
# with a standalone switch test (tests/fiber/arch_standalone.c and its
# register probe) and runs it under qemu-user. Nothing else of the library
# is needed.
#
# Usage: tests/fiber/aarch64_check.sh [source-root]
# Prints the test's "N passed, M failed"; exits 0 on success, 1 on a
# failure, 77 (skipped) when aarch64-linux-gnu-gcc or qemu-aarch64 is
# missing (Debian: gcc-aarch64-linux-gnu, qemu-user).
set -u

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cc=${AARCH64_CC:-aarch64-linux-gnu-gcc}

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "skipped: $cc not found"
  exit 77
fi
qemu=$(command -v qemu-aarch64 || command -v qemu-aarch64-static) || {
  echo "skipped: qemu-aarch64 not found"
  exit 77
}

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# -static: no aarch64 sysroot is needed at run time.
if ! "$cc" -static -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
    -o "$tmp/arch_standalone" \
    "$root/runtime/arch/switch_aarch64.S" \
    "$root/tests/fiber/callee_saved_aarch64.S" \
    "$root/tests/fiber/arch_standalone.c" -lm; then
  echo "0 passed, 1 failed (cross-compilation failed)"
  exit 1
fi

"$qemu" "$tmp/arch_standalone"
status=$?
[ "$status" -eq 0 ] || exit 1
exit 0
