#!/usr/bin/env bash
# The same seed gives the same samples with the AVX2 and the AVX-512 kernels:
# runs each engine (and a decoder preset, a trained-style 128-token run) under
# RANKKERNELS_ISA=avx2 and =avx512 and compares samples.csv byte for byte.
# On a CPU without AVX-512F there is only one path: says so and passes.
# Usage: Tools/check-isa-identity.sh [path/to/mc-generic]   (run by .ci/run)
set -euo pipefail
bin=${1:-.build/release/mc-generic}
if ! grep -q -m1 -o avx512f /proc/cpuinfo 2>/dev/null; then
  echo "check-isa-identity: this CPU has no AVX-512F; only the AVX2 path can run here (skipped)"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=(
  "--engine dense --samples 40 --seq-len 16"
  "--engine sketch --samples 200 --seq-len 16"
  "--engine gram --samples 200 --seq-len 16"
  "--engine sketch --samples 6 --seq-len 128 --layers 4"
  "--architecture llama --samples 20 --layers 3 --seq-len 24"
  "--architecture pythia --engine dense --samples 10 --layers 2 --seq-len 33"
)
for index in "${!runs[@]}"; do
  # shellcheck disable=SC2086
  for isa in avx2 avx512; do
    if ! RANKKERNELS_ISA=$isa "$bin" ${runs[$index]} --seed 7 --per-sample --output "$work/$index-$isa" --quiet \
      > /dev/null 2> "$work/stderr.txt"; then
      echo "check-isa-identity: FAIL: RANKKERNELS_ISA=$isa ${runs[$index]}: $(cat "$work/stderr.txt")" >&2
      exit 1
    fi
  done
  [ -s "$work/$index-avx2/samples.csv" ] || { echo "check-isa-identity: FAIL: no samples.csv for: ${runs[$index]}" >&2; exit 1; }
  if ! cmp -s "$work/$index-avx2/samples.csv" "$work/$index-avx512/samples.csv"; then
    echo "check-isa-identity: FAIL: samples differ between avx2 and avx512 for: ${runs[$index]}" >&2
    exit 1
  fi
  echo "check-isa-identity: identical samples.csv with avx2 and avx512: ${runs[$index]}"
done
echo "check-isa-identity: OK"
