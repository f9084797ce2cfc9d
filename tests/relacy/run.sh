#!/bin/sh
# Builds and runs the Relacy models of the deque without meson (one compile
# at a time), prints each program's lines and a total "N passed, M failed",
# and exits non-zero if anything failed or did not build.
#
#   tests/relacy/run.sh [model...]       models: chase_lev split_deque handoff (default: all)
#
# Environment: CXX (default g++), RELACY_BUILD_DIR (default: a temporary
# directory, removed afterwards), RELACY_DEEP=1 (add the slow searches),
# RELACY_SCALE=N (N times the random-scheduler iterations), RELACY_VERBOSE=1
# (print Relacy's execution history of each caught negative control).
set -u

here=$(cd "$(dirname "$0")" && pwd)
cxx=${CXX:-g++}
models=${*:-chase_lev split_deque handoff}

if ! printf '#include <relacy/relacy.hpp>\n' | "$cxx" -std=c++17 -fsyntax-only -x c++ - 2>/dev/null; then
  echo "relacy/relacy.hpp not found or not usable with $cxx (Debian package relacy-dev)"
  echo "0 passed, 1 failed"
  exit 1
fi

# -fno-sized-deallocation: Relacy replaces operator delete(void *) only.
# -fno-lifetime-dse (GCC; Clang has no such flag and needs none): otherwise
# GCC drops the store by which Relacy marks freed memory (chase_lev.cpp).
lifetime_dse=
if "$cxx" -fno-lifetime-dse -fsyntax-only -x c++ /dev/null 2>/dev/null; then
  lifetime_dse=-fno-lifetime-dse
fi

if [ -n "${RELACY_BUILD_DIR:-}" ]; then
  out=$RELACY_BUILD_DIR
  mkdir -p "$out" || exit 1
else
  out=$(mktemp -d) || exit 1
  trap 'rm -rf "$out"' EXIT INT TERM
fi

passed=0
failed=0
for m in $models; do
  if [ ! -f "$here/$m.cpp" ]; then
    echo "FAIL $m: no such model ($here/$m.cpp)"
    failed=$((failed + 1))
    continue
  fi
  echo "== $m: building"
  # shellcheck disable=SC2086 # $lifetime_dse is empty or one flag
  if ! "$cxx" -std=c++17 -O2 -w -fno-sized-deallocation $lifetime_dse -I/usr/include \
      -o "$out/relacy_$m" "$here/$m.cpp"; then
    echo "FAIL $m: does not build"
    failed=$((failed + 1))
    continue
  fi
  echo "== $m: running"
  start=$(date +%s)
  "$out/relacy_$m" >"$out/$m.log" 2>&1
  rc=$?
  cat "$out/$m.log"
  last=$(tail -n 1 "$out/$m.log")
  p=$(printf '%s\n' "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
  f=$(printf '%s\n' "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
  if [ -z "$p" ]; then # crashed before its summary
    echo "FAIL $m: exited with status $rc without its summary line"
    failed=$((failed + 1))
  else
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
      echo "FAIL $m: exit status $rc"
      failed=$((failed + 1))
    fi
  fi
  echo "== $m: $(( $(date +%s) - start )) s"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
