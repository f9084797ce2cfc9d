#!/bin/sh
# The uninstalled pkg-config file puts include/ (the public header) on a
# user's include path, and nothing else of the source tree: runtime/'s
# private headers must not be reachable as <internal.h> and friends.
# usage: pc_include_path.sh <build root>
set -eu
pc="$1/meson-uninstalled/spool-uninstalled.pc"
[ -f "$pc" ] || { echo "missing $pc"; exit 1; }
cflags=$(grep '^Cflags:' "$pc")
echo "$cflags"
for flag in $(echo "$cflags" | sed 's/^Cflags://'); do
  case "$flag" in
    -I*/include) ;;
    -I*) echo "unexpected include directory: $flag"; exit 1 ;;
  esac
done
echo "$cflags" | grep -q -- '-I.*/include' || { echo "include/ missing"; exit 1; }
