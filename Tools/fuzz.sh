#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/, -sanitize=fuzzer,address, lld) and runs
# each for SECONDS (default 60), seeded by Fuzz/Corpus/TARGET (read only; new
# inputs go to a scratch corpus). A finding is a crash, an ASan report, a run
# over 1 s on one input, or an allocation over 1 GB: the script stops with the
# reproducer's path in OUT (default /tmp/rankkernels-fuzz) and exits non-zero.
# Prints each target's execution count.
#   Tools/fuzz.sh [SECONDS] [TARGET…]     (targets: every one in FuzzTarget)
# FUZZ_SEED (default 1) fixes libFuzzer's mutations, so that CI's runs repeat;
# FUZZ_SEED=0 lets libFuzzer pick one (longer exploratory runs). FUZZ_TIMEOUT
# (default 1 s) is the per-input limit: raise it only for runs sharing a busy
# machine (a niced fuzzer starved by builds on 2 cores reports 4-ms inputs as
# 1-s timeouts); re-run any timeout alone to see its real time.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}; shift || true
out=${FUZZ_OUT:-/tmp/rankkernels-fuzz}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf safetensors config-json tokenizer-json wordpiece token-ids state-json hidden-states)
mkdir -p "$out"
if ! swift build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld >"$out/build.log" 2>&1; then
  echo "fuzz: the fuzz targets do not build:" >&2
  grep -E "error" "$out/build.log" | head -5 >&2
  exit 1
fi
binary=Fuzz/.build/debug/FuzzParsers
status=0
for target in "${targets[@]}"; do
  work="$out/corpus-$target"; mkdir -p "$work"
  log="$out/$target.log"
  # Swift's backtracer waits on a crashed process; libFuzzer reports crashes itself.
  if SWIFT_BACKTRACE=enable=no LSAN_OPTIONS="suppressions=$PWD/Tools/sanitizers/lsan-suppressions.txt" "$binary" "$target" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-1}" -malloc_limit_mb=1024 \
      -rss_limit_mb=2048 -seed="${FUZZ_SEED:-1}" -print_final_stats=1 -artifact_prefix="$out/$target-" "$work" "Fuzz/Corpus/$target" >"$log" 2>&1; then
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "fuzz: $target: ${runs:-?} inputs in ${seconds} s, no finding"
  else
    status=1
    echo "fuzz: $target: FINDING (log $log):" >&2
    grep -E 'ERROR|Fatal error|SUMMARY|Test unit written|timeout|out-of-memory|malloc\(' "$log" | head -8 >&2
  fi
done
exit $status
