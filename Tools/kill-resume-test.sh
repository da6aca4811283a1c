#!/usr/bin/env bash
# SIGKILL at random moments, then resume: every resumed run must complete and
# equal the uninterrupted run bit for bit (summary.json and samples.csv), and a
# kill may lose at most the last checkpoint interval (the state on disk is never
# older than the interval plus one batch). Checkpoints every 0.05 s, so many
# kills land during a checkpoint write. Run by .ci/run.
#   Tools/kill-resume-test.sh [path/to/mc-generic] [kills]
set -euo pipefail
bin=${1:-.build/release/mc-generic}
kills=${2:-25}
work=$(mktemp -d)
trap '[ "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
fail() { echo "kill-resume: FAIL: $*" >&2; exit 1; }
args=(--samples 60000 --layers 2 --d-model 32 --heads 4 --d-ff 64 --seq-len 8 --seed 9 --threads 2 --quiet --per-sample)
interval=0.05

"$bin" "${args[@]}" --output "$work/reference" > /dev/null 2>&1
RANDOM=42
run_dir="$work/killed"
killed=0
for attempt in $(seq "$kills"); do
  if [ -f "$run_dir/state.json" ]; then mode=(--resume "$run_dir"); else mode=(--output "$run_dir"); fi
  "$bin" "${args[@]}" --checkpoint-seconds "$interval" "${mode[@]}" > /dev/null 2>&1 &
  pid=$!
  sleep "0.$(printf '%03d' $((RANDOM % 900 + 20)))"
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" || true; break; fi  # finished before the kill
  killed_at=$(date +%s.%N)
  { kill -9 "$pid"; wait "$pid"; } 2>/dev/null || true
  killed=$((killed + 1))
  if [ -f "$run_dir/state.json" ]; then
    python3 - "$run_dir/state.json" "$killed_at" "$interval" <<'PY' || fail "after kill $attempt the state is older than the checkpoint interval allows"
import os, sys
age = float(sys.argv[2]) - os.path.getmtime(sys.argv[1])
# interval + one batch of blocks + scheduling slack on a loaded 2-core VM
sys.exit(0 if age <= float(sys.argv[3]) + 1.0 else 1)
PY
  fi
done
# Resume to the end (the last attempt may already have finished).
while ! python3 -c "import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))['complete'] else 1)" "$run_dir/summary.json" 2>/dev/null; do
  if [ -f "$run_dir/state.json" ]; then mode=(--resume "$run_dir"); else mode=(--output "$run_dir"); fi
  "$bin" "${args[@]}" --checkpoint-seconds "$interval" "${mode[@]}" > /dev/null 2>&1 || fail "resume after $killed kills failed"
done
python3 "$(dirname "$0")/compare-summaries.py" "$work/reference/summary.json" "$run_dir/summary.json" --complete \
  || fail "resumed summary.json differs from the uninterrupted run"
cmp -s "$work/reference/samples.csv" "$run_dir/samples.csv" || fail "resumed samples.csv differs from the uninterrupted run"
[ "$killed" -ge 10 ] || fail "only $killed kills landed before the run finished; the test needs a longer run"
echo "kill-resume: $killed SIGKILLs at random moments (checkpoints every ${interval} s); resumed summary.json and samples.csv == uninterrupted, bit for bit"
