#!/usr/bin/env bash
# Samples per second of mc-generic's engines side by side on this machine:
# each round runs every engine once on the same configuration (interleaved,
# so drift on a shared VM hits all of them alike), and the ratios to the
# first engine are reported per round with their median and range.
#
#   Tools/perf/engine-compare.sh ROUNDS SAMPLES ENGINES [mc-generic options...]
#   e.g. Tools/perf/engine-compare.sh 3 20000 gram,sketch --seq-len 16 --threads 2
#
# Prints the CPU model first. Needs a release build.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
binary="$root/.build/release/mc-generic"
[[ -x "$binary" ]] || { echo "engine-compare: build first: swift build -c release" >&2; exit 2; }
rounds=${1:?usage: engine-compare.sh ROUNDS SAMPLES ENGINES [options]}; samples=${2:?}; engines=${3:?}; shift 3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "cpu: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') (family $(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), model $(grep -m1 '^model\s*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')); avx512f: $(grep -q avx512f /proc/cpuinfo && echo yes || echo no); nproc $(nproc)"
echo "options: --samples $samples $*"
IFS=, read -r -a list <<< "$engines"
for round in $(seq 1 "$rounds"); do
  line="round $round:"
  for engine in "${list[@]}"; do
    start=$(date +%s.%N)
    "$binary" --engine "$engine" --samples "$samples" --quiet --output "$work/$engine-$round" "$@" > /dev/null 2>&1
    end=$(date +%s.%N)
    rate=$(python3 -c "print(f'{$samples / ($end - $start):.1f}')")
    echo "$rate" >> "$work/$engine.rates"
    line="$line $engine $rate/s"
  done
  echo "$line"
done
python3 - "$work" "${list[@]}" <<'PY'
import sys, statistics
work, engines = sys.argv[1], sys.argv[2:]
rates = {e: [float(x) for x in open(f"{work}/{e}.rates")] for e in engines}
base = engines[0]
for e in engines[1:]:
    ratios = [a / b for a, b in zip(rates[base], rates[e])]
    print(f"{base} / {e}: median {statistics.median(ratios):.2f}x (range {min(ratios):.2f}-{max(ratios):.2f}) over {len(ratios)} rounds;"
          f" {base} median {statistics.median(rates[base]):.1f} samples/s, {e} {statistics.median(rates[e]):.1f}")
PY
