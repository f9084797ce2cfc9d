#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds a small program
# against it twice, as users do: with CMake (find_package(spool),
# spool::spool and spool::spool_static) and with pkg-config; runs all three.
#
#   check.sh SOURCE_DIR BUILD_DIR
set -u
src=$1
build=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
step() { # step <name> <command...>
  local name=$1
  shift
  if "$@" >"$tmp/log" 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAILED: $name"
    tail -20 "$tmp/log"
  fi
}

step "meson install" meson install -C "$build" --no-rebuild --destdir "$tmp/root"
prefix=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
libdir=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"))')
root="$tmp/root$prefix"
case "$libdir" in /*) lib="$tmp/root$libdir" ;; *) lib="$root/$libdir" ;; esac

step "cmake configure" cmake -S "$here" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$root" -DCMAKE_BUILD_TYPE=Release
step "cmake build" cmake --build "$tmp/cmake"
step "run (CMake, spool::spool)" env LD_LIBRARY_PATH="$lib" "$tmp/cmake/consumer"
step "run (CMake, spool::spool_static)" "$tmp/cmake/consumer_static"
step "not linked against the build tree" sh -c "! env LD_LIBRARY_PATH=$lib ldd $tmp/cmake/consumer | grep -q '$build'"

export PKG_CONFIG_PATH="$lib/pkgconfig"
step "pkg-config build" sh -c "cc -std=c11 -Wall -Werror '$here/consumer.c' -o '$tmp/pc_consumer' \
  \$(pkg-config --define-variable=prefix=$root --cflags --libs spool)"
step "run (pkg-config)" env LD_LIBRARY_PATH="$lib" "$tmp/pc_consumer"
# The version file: 0.x satisfies "0.1", never "1.0" (SameMajorVersion).
mkdir -p "$tmp/v1"
printf 'cmake_minimum_required(VERSION 3.16)\nproject(v NONE)\nfind_package(spool 1.0 REQUIRED)\n' \
  >"$tmp/v1/CMakeLists.txt"
step "find_package(spool 1.0) fails" sh -c "! cmake -S '$tmp/v1' -B '$tmp/v1/b' -DCMAKE_PREFIX_PATH='$root'"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
