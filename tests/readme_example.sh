#!/bin/sh
# Keeps the README true: extracts its C example, builds it against the
# library and runs it. Usage: readme_example.sh CC SOURCE_ROOT LIBSPOOL_A
set -eu
cc=$1 root=$2 lib=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
awk '/^```c$/ { on = 1; next } /^```$/ { on = 0 } on' "$root/README.md" >"$dir/example.c"
[ -s "$dir/example.c" ] || { echo "no C example in README.md"; echo "0 passed, 1 failed"; exit 1; }
"$cc" -std=c11 -Wall -Wextra -Werror -O2 -I"$root/include" "$dir/example.c" "$lib" \
  $(pkg-config --libs hwloc) -lpthread -o "$dir/example"
out=$("$dir/example")
echo "$out"
echo "$out" | grep -q '^fib(30) = 832040$' && echo "$out" | grep -q '^7^2 = 49$' ||
  { echo "0 passed, 1 failed"; exit 1; }
echo "1 passed, 0 failed"
