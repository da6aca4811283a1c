#!/usr/bin/env bash
# Where mc-generic's time goes: samples the release binary with `perf record`
# (cpu-clock, so it works on VMs without hardware counters) on one thread and
# groups the self time of every symbol into the phases of a forward pass.
#
#   Tools/perf/time-split.sh [mc-generic options...]     e.g. --engine dense --samples 16
#
# Needs linux-perf (Debian: apt-get install linux-perf) and a release build.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
binary="$root/.build/release/mc-generic"
[[ -x "$binary" ]] || { echo "time-split: build first: swift build -c release" >&2; exit 2; }
command -v perf > /dev/null || { echo "time-split: perf not found (apt-get install linux-perf)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
perf record -q -o "$work/perf.data" -- "$binary" --threads 1 --quiet --output "$work/run" "$@" > /dev/null 2>&1
perf report -i "$work/perf.data" --no-children --sort symbol --stdio 2> /dev/null | python3 "$root/Tools/perf/group_symbols.py"
