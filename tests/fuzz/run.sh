#!/usr/bin/env bash
# Runs each libFuzzer target of a clang ASan+UBSan build for a bounded time.
#
#   tests/fuzz/run.sh BUILDDIR [SECONDS]     (default 60 s per target)
#
# Each target starts from the checked-in corpus (tests/fuzz/corpus/<target>/,
# read only: what the run finds goes to BUILDDIR/fuzz-corpus/<target>/) with a
# fixed seed, so a CI run explores the same way each time (the API target
# runs threads, so not bit for bit). A crash, a leak, a failed check or a
# hang (-timeout) fails the target and leaves its input in
# BUILDDIR/fuzz-artifacts/; to keep it as a regression test that every
# build replays, copy it into tests/fuzz/regressions/<target>/ and re-run
# meson setup. To grow the checked-in corpus after a longer run:
#   BUILDDIR/tests/fuzz/fuzz_<target> -merge=1 tests/fuzz/corpus/<target> BUILDDIR/fuzz-corpus/<target>
#
# Ends with "N passed, M failed" (targets).
set -u
cd "$(dirname "$0")/../.."
build=${1:?usage: tests/fuzz/run.sh BUILDDIR [SECONDS]}
seconds=${2:-60}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# target, then its extra options: inputs longer than MAX_OPS operations
# (api_sequence.c) add nothing
targets=(
  "env_config -max_len=128"
  "api_sequence -max_len=256"
)
passed=0
failed=0
for entry in "${targets[@]}"; do
  read -r t opts <<<"$entry"
  exe=$build/tests/fuzz/fuzz_$t
  if [ ! -x "$exe" ]; then
    echo "   $exe missing (needs clang and -Db_sanitize=address,...)"
    failed=$((failed + 1))
    continue
  fi
  mkdir -p "$build/fuzz-corpus/$t" "$build/fuzz-artifacts"
  log=$build/fuzz-$t.log
  start=$(date +%s)
  # -timeout: seconds for one input (a hang); the run's own bound is
  # -max_total_time, the outer timeout only guards against a stuck fuzzer
  # shellcheck disable=SC2086
  timeout --kill-after=30 $((seconds + 300)) "$exe" -seed=1 -max_total_time="$seconds" -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" $opts \
    "$build/fuzz-corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  st=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $st = 0 ]; then
    passed=$((passed + 1))
    echo "   $t: ok, ${runs:-?} inputs in $(($(date +%s) - start)) s"
  else
    failed=$((failed + 1))
    echo "   $t: FAILED (exit $st) after $(($(date +%s) - start)) s; log $log"
    grep -E 'check failed|ERROR|SUMMARY|Test unit written|^    #[0-9] ' "$log" | head -30 | sed 's/^/      /'
  fi
done
echo "$passed passed, $failed failed"
[ $failed = 0 ]
