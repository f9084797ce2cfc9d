#!/bin/sh
# Keeps the README true: compiles every ```c block of README.md.
#   - a complete program (one with `int main`) is built against the static
#     library and run; it must exit 0 within 10 seconds (each checks its own
#     results and returns nonzero when one is wrong);
#   - any other block is a fragment: it must compile on its own as a
#     translation unit (it includes what it needs; no hidden preamble).
# Both with -std=c11 -Wall -Wextra -Werror. Blocks that are not meant to
# compile are tagged otherwise (```sh, ```cmake, ```text).
# Usage: readme_example.sh CC SOURCE_ROOT LIBSPOOL_A
set -eu
cc=$1 root=$2 lib=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# block_<README line of the opening fence>.c, one per ```c block.
awk -v dir="$dir" '
  /^```c$/ { on = 1; out = sprintf("%s/block_%05d.c", dir, NR); printf "" >out; next }
  on && /^```$/ { on = 0; close(out); next }
  on { print >out }
' "$root/README.md"

pass=0 fail=0
compile() { "$cc" -std=c11 -Wall -Wextra -Werror -I"$root/include" "$@"; }
for src in "$dir"/block_*.c; do
  [ -e "$src" ] || break
  name="README.md:$(basename "$src" .c | sed 's/^block_0*//')"
  if grep -q 'int main(' "$src"; then
    # shellcheck disable=SC2046 # pkg-config prints several words
    if ! compile -O2 "$src" "$lib" $(pkg-config --libs hwloc) -lpthread -o "$src.exe" 2>"$src.log"; then
      echo "FAILED (compile): $name"
      cat "$src.log"
      fail=$((fail + 1))
      continue
    fi
    status=0
    timeout 10 "$src.exe" >"$src.log" 2>&1 || status=$?
    if [ "$status" != 0 ]; then
      echo "FAILED (run, exit status $status): $name"
      cat "$src.log"
      fail=$((fail + 1))
    else
      echo "ok (program): $name: $(head -1 "$src.log")"
      pass=$((pass + 1))
    fi
  elif compile -fsyntax-only "$src" 2>"$src.log"; then
    echo "ok (fragment): $name"
    pass=$((pass + 1))
  else
    echo "FAILED (compile): $name"
    cat "$src.log"
    fail=$((fail + 1))
  fi
done
[ $((pass + fail)) -gt 0 ] || {
  echo "no C block in README.md"
  fail=1
}
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
