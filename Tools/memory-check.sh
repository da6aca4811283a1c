#!/usr/bin/env bash
# Peak RSS of the default run must not grow with the sample count (issue 31):
# runs 2,000 and 20,000 samples (2 threads) and requires the peaks to differ by
# less than 10 MB. Before the fix in MonteCarloRun.computeBlocks each sample
# leaked its metric arrays (~7 KB), so 20,000 samples grew by ~120 MB.
set -euo pipefail
bin=${1:-.build/release/mc-generic}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
peak() {  # peak RSS in KB of a default run of $1 samples
  /usr/bin/time -f "%M" -o "$work/rss" "$bin" --samples "$1" --threads 2 --quiet --output "$work/run$1" > /dev/null 2>&1
  cat "$work/rss"
}
small=$(peak 2000)
large=$(peak 20000)
growth=$(( large - small ))
echo "memory: peak RSS $small KB at 2,000 samples, $large KB at 20,000 (growth $growth KB)"
if [ "$growth" -ge 10240 ]; then echo "memory: FAIL: peak RSS grows with the sample count" >&2; exit 1; fi
echo "memory: OK (growth under 10 MB)"
