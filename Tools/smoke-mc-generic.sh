#!/usr/bin/env bash
# End-to-end checks of the mc-generic executable (run by .ci/run after the
# release build): the default BERT-base configuration and its summary schema,
# bad input, sharding through SLURM variables + merge, and SIGINT + --resume,
# each compared with an uninterrupted run.
set -euo pipefail
bin=${1:-.build/release/mc-generic}
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"  # absolute: one check runs in another directory
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "smoke: FAIL: $*" >&2; exit 1; }

echo "smoke: defaults (BERT-base, 8 samples)"
"$bin" --samples 8 --output "$work/defaults" --quiet > "$work/table.txt"
python3 - "$work/defaults/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["schema"] == "mc-generic/summary/v2", s["schema"]
assert s["completed_samples"] == 8 and s["complete"]
v = s["variants"]
assert set(v) == {"attn", "attn+res", "attn+res+ln", "attn+res+ln+mlp"}, set(v)
for name, data in v.items():
    layers = data["layers"]
    assert len(layers) == 13
    for key in ["full_rank_fraction", "affine_full_rank_fraction", "rank_mean", "affine_rank_mean",
                "residual_ratio_mean", "dong_ratio_mean", "log10_sigma_ratio_mean", "attention_entropy_mean",
                "residual_ratio_p50", "rank_histogram"]:
        assert key in layers[12], (name, key)
    expected = 0.0 if name == "attn" else 1.0
    assert layers[12]["full_rank_fraction"] == expected, (name, layers[12]["full_rank_fraction"])
print("smoke: summary schema and collapse facts OK")
PY
grep -q "95% UB" "$work/table.txt" || fail "table missing"
[ -s "$work/defaults/plot.svg" ] || fail "plot.svg missing"

echo "smoke: bad input"
small=(--layers 3 --d-model 32 --heads 4 --d-ff 64 --seq-len 8 --quiet)
if "$bin" --samples 4 --heads 7 2> "$work/err.txt"; then fail "--heads 7 accepted"; fi
grep -q "divisible by --heads (7)" "$work/err.txt" || fail "unclear message: $(cat "$work/err.txt")"
if "$bin" --samples 4 --variants attn+foo 2> "$work/err.txt"; then fail "unknown variant accepted"; fi
grep -q "unknown component 'foo'" "$work/err.txt" || fail "unclear message: $(cat "$work/err.txt")"
if "$bin" --samples 2 --seq-len 40 --d-model 32 --heads 4 2> "$work/err.txt"; then fail "rank-capped configuration accepted"; fi
grep -q "allow-rank-cap" "$work/err.txt" || fail "unclear message: $(cat "$work/err.txt")"
before=$(sha256sum "$work/defaults/state.json")
if "$bin" --samples 8 --output "$work/defaults" --quiet 2> "$work/err.txt"; then fail "existing results overwritten"; fi
grep -q "already holds results" "$work/err.txt" || fail "unclear message: $(cat "$work/err.txt")"
[ "$before" = "$(sha256sum "$work/defaults/state.json")" ] || fail "state.json changed"

echo "smoke: architecture presets and their bad input"
for a in albert-base gpt2 llama pythia; do
  "$bin" --architecture $a --samples 4 --layers 2 --seq-len 8 --output "$work/preset-$a" --quiet > /dev/null 2> "$work/err.txt" || fail "--architecture $a: $(cat "$work/err.txt")"
  python3 -c "import json,sys; s=json.load(open(sys.argv[1])); c=s['config']; assert c['model']['architecture']==sys.argv[2] and c['unmodified_variant'] in s['variants'], c" "$work/preset-$a/summary.json" "$a" || fail "$a summary"
done
grep -q "engine dense: the sketch needs fresh weights" <("$bin" --architecture albert-base --samples 1 --layers 2 --output "$work/albert-engine" 2>&1 >/dev/null) || fail "albert-base should say why it runs dense"
bad() {  # bad EXPECTED-SUBSTRING ARGS...: one line on stderr naming it, non-zero exit
  local expected=$1; shift
  if "$bin" "$@" --samples 2 --output "$work/bad" 2> "$work/err.txt" > /dev/null; then fail "accepted: $*"; fi
  grep -qF -- "$expected" "$work/err.txt" || fail "unclear message for $*: $(cat "$work/err.txt")"
  [ "$(grep -c . "$work/err.txt")" -le 2 ] || fail "more than one line for $*: $(cat "$work/err.txt")"
  [ ! -e "$work/bad/state.json" ] || fail "wrote results for $*"
}
bad "'gpt3' is invalid for '--architecture <architecture>'" --architecture gpt3
bad "--final-norm" --final-norm batch
bad "--kv-heads 4 must divide --heads 9" --architecture llama --kv-heads 4
bad "--mask window:40: the window must be in 1...16" --architecture gpt2 --mask window:40
bad "--rope-fraction must be in (0, 1]" --architecture pythia --rope-fraction 1.5
bad "RoPE needs an even whole number" --architecture pythia --rope-fraction 0.3
bad "--engine sketch is not exact here" --architecture albert-base --engine sketch
bad "--shared-layers 5 must divide --layers 12" --shared-layers 5

echo "smoke: non-finite activations are reported, malformed lists refused"
"$bin" --samples 16 "${small[@]}" --sigma 1e30 --output "$work/overflow" > /dev/null 2> "$work/err.txt"
grep -q "warning: non-finite activations" "$work/err.txt" || fail "no warning for --sigma 1e30: $(cat "$work/err.txt")"
python3 -c "import json,sys; l=json.load(open(sys.argv[1]))['variants']['attn+res+ln+mlp']['layers'][3]; assert l['nonfinite_count']==16 and l['full_rank_fraction']==0, l['nonfinite_count']" "$work/overflow/summary.json" || fail "nonfinite_count"
"$bin" --samples 16 "${small[@]}" --sigma 1e-30 --ln-eps 0 --engine dense --variants attn+ln --output "$work/collapsed" > /dev/null 2> "$work/err.txt"
grep -q "attn+ln from layer 1" "$work/err.txt" || fail "no warning for --ln-eps 0 on a collapsed state: $(cat "$work/err.txt")"
for list in "attn,,attn+res" "attn,attn+res," "attn+ln+res,attn+res+ln"; do
  if "$bin" --samples 4 --variants "$list" 2> "$work/err.txt"; then fail "--variants '$list' accepted"; fi
  grep -q -- "--variants '$list'" "$work/err.txt" || fail "unclear message for '$list': $(cat "$work/err.txt")"
done
echo "smoke: a run without --output leaves its results in a new, printed directory"
(cd "$work" && "$bin" --samples 4 "${small[@]}" > table.txt 2> err.txt)
dir=$(head -1 "$work/err.txt" | sed -n 's/^mc-generic: results in //p')
[ -n "$dir" ] && [ -s "$dir/summary.json" ] && [ -s "$dir/plot.svg" ] || fail "no results directory on stderr's first line: $(cat "$work/err.txt")"
grep -q "results: $dir" "$work/table.txt" || fail "the table does not name $dir"
case "$dir" in "$work"/mc-generic-runs/*-seed0) ;; *) fail "unexpected directory $dir" ;; esac
grep -q "^mc-generic: engine gram: estimated .* faster than sketch" "$work/err.txt" || fail "no line saying which engine and why: $(cat "$work/err.txt")"
"$bin" --samples 1 --seq-len 512 --layers 1 --output "$work/long" --quiet > /dev/null 2> "$work/err.txt"
grep -q "^mc-generic: engine dense: .*n = 512" "$work/err.txt" || fail "n = 512 should default to the dense engine: $(cat "$work/err.txt")"

echo "smoke: shards via SLURM variables, then merge"
"$bin" --samples 48 "${small[@]}" --output "$work/whole" > /dev/null
SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=2 "$bin" --samples 48 "${small[@]}" --output "$work/s0" > /dev/null
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=2 "$bin" --samples 48 "${small[@]}" --output "$work/s1" > /dev/null
"$bin" merge "$work/s1" "$work/s0" --output "$work/merged" > /dev/null

echo "smoke: SIGINT, then --resume"
"$bin" --samples 8000 "${small[@]}" --threads 1 --checkpoint-seconds 0.5 --output "$work/interrupted" > /dev/null 2> "$work/int.txt" &
pid=$!
sleep 1.5
kill -INT $pid
set +e; wait $pid; status=$?; set -e
[ $status -eq 130 ] || fail "interrupted run exited $status, expected 130"
grep -q "resume" "$work/int.txt" || fail "no resume hint"
"$bin" --samples 8000 "${small[@]}" --resume "$work/interrupted" > /dev/null
"$bin" --samples 8000 "${small[@]}" --output "$work/straight" > /dev/null

python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
load = lambda d: json.load(open(f"{w}/{d}/summary.json"))
for a, b in [("whole", "merged"), ("straight", "interrupted")]:
    x, y = load(a), load(b)
    assert x["variants"] == y["variants"], f"{a} and {b} differ"
    assert x["completed_samples"] == y["completed_samples"]
print("smoke: merged == unsharded, resumed == uninterrupted (every number in summary.json)")
PY
echo "smoke: sketch and gram vs dense at BERT-base, 32 samples each: means within Monte Carlo error"
"$bin" --samples 32 --engine dense --per-sample --output "$work/dense" --quiet > /dev/null
for engine in sketch gram; do
"$bin" --samples 32 --engine $engine --per-sample --output "$work/$engine" --quiet > /dev/null
python3 - "$work" "$engine" <<'PY'
import csv, math, sys
from collections import defaultdict
w = sys.argv[1]
def load(name):
    values = defaultdict(list)
    for row in csv.DictReader(open(f"{w}/{name}/samples.csv")):
        # Float32 resolution: collapsed rows are exactly 0 under dense products, ~1e-8 under the sketch.
        values[(row["variant"], int(row["layer"]), "residual_ratio")].append(max(float(row["residual_ratio"]), 1e-5))
        values[(row["variant"], int(row["layer"]), "log10_sigma_ratio")].append(max(float(row["log10_sigma_ratio"]), -5.0))
    return values
dense, sketch = load("dense"), load(sys.argv[2])
worst = (0.0, ("", 0, ""))
for key in dense:
    a, b = dense[key], sketch[key]
    mean = lambda x: sum(x) / len(x)
    var = lambda x: sum((v - mean(x)) ** 2 for v in x) / (len(x) - 1)
    se = math.sqrt(var(a) / len(a) + var(b) / len(b))
    diff = abs(mean(a) - mean(b))
    z = diff / se if se > 0 else (0 if diff < 1e-12 else float("inf"))
    worst = max(worst, (z, key))
# 26 layers x 4 variants x 2 metrics, correlated; |z| < 4.5 (two-sided 7e-6 each).
assert worst[0] < 4.5, f"{sys.argv[2]} and dense means differ: z = {worst[0]:.2f} at {worst[1]}"
print(f"smoke: {sys.argv[2]}: largest |difference| / standard error = {worst[0]:.2f} at {worst[1]}")
PY
done
echo "smoke: claims report at tiny sample counts: eight sections, the phase diagram, no overwrite"
"$bin" claims --samples 20 --dense-samples 2 --output "$work/claims" 2> /dev/null
test "$(grep -c '^## ' "$work/claims/report.md")" -eq 8
test "$(grep -c '^\*\*Verdict: ' "$work/claims/report.md")" -eq 8
grep -q '<svg' "$work/claims/claim3-phase.svg"
before=$(cksum < "$work/claims/report.md")
if "$bin" claims --only 4 --samples 5 --output "$work/claims" 2> "$work/claims-refused.txt"; then
  echo "smoke: claims overwrote an existing report" >&2; exit 1
fi
grep -q "already holds report.md" "$work/claims-refused.txt"
test "$(cksum < "$work/claims/report.md")" = "$before"
if "$bin" claims --only 9 --output "$work/claims-bad" 2> /dev/null; then
  echo "smoke: claims accepted --only 9" >&2; exit 1
fi
echo "smoke: a file-size limit (ulimit -f) is reported in one line, the checkpoint kept, no temporary file left"
tiny=(--layers 2 --d-model 32 --heads 2 --d-ff 32 --samples 3000 --quiet)
set +e
(ulimit -f 200; "$bin" "${tiny[@]}" --per-sample --output "$work/limited" > /dev/null 2> "$work/limited.txt"); limited=$?
(ulimit -f 100; "$bin" "${tiny[@]}" --output "$work/limited-state" > /dev/null 2> "$work/limited-state.txt"); limitedState=$?
set -e
test "$limited" -eq 1 && grep -q "cannot write samples.csv: file too large" "$work/limited.txt"
test -f "$work/limited/state.json"
test "$limitedState" -eq 1 && grep -q "cannot write $work/limited-state/state.json (.*): file too large" "$work/limited-state.txt"
test -z "$(ls -A "$work/limited-state" | grep -vx .mc-generic.lock)"   # no stray .state.json.tmp-PID
"$bin" "${tiny[@]}" --per-sample --resume "$work/limited" > /dev/null 2>&1
"$bin" "${tiny[@]}" --per-sample --output "$work/unlimited" > /dev/null 2>&1
cmp "$work/limited/samples.csv" "$work/unlimited/samples.csv"

echo "smoke: a second process on the same directory is refused while the first runs; the first completes"
mid=(--layers 2 --d-model 32 --heads 2 --d-ff 32 --samples 40000 --quiet --checkpoint-seconds 0.2)
waitfor() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done; fail "$1 never appeared"; }
"$bin" "${mid[@]}" --output "$work/locked" > /dev/null 2>&1 & first=$!
waitfor "$work/locked/state.json"
if "$bin" "${mid[@]}" --resume "$work/locked" > /dev/null 2> "$work/second.txt"; then fail "a second process resumed a running directory"; fi
grep -q "is in use by another mc-generic process (pid $first)" "$work/second.txt" || fail "lock message: $(cat "$work/second.txt")"
[ "$(wc -l < "$work/second.txt")" -eq 1 ] || fail "lock refusal is not one line: $(cat "$work/second.txt")"
wait "$first" || fail "the first run failed after the refused second"
grep -q '"complete" : true' "$work/locked/summary.json" || fail "the first run did not complete"

echo "smoke: an output directory removed mid-run stops the run with one line naming the file"
"$bin" "${mid[@]}" --output "$work/vanish" > /dev/null 2> "$work/vanish.txt" & pid=$!
waitfor "$work/vanish/state.json"
rm -rf "$work/vanish"
set +e; wait "$pid"; vanished=$?; set -e
test "$vanished" -eq 1 || fail "run in a removed directory exited $vanished"
grep -q "cannot write $work/vanish/state.json (.*): the directory no longer exists" "$work/vanish.txt" || fail "removed-directory message: $(cat "$work/vanish.txt")"
if grep -qiE "fatal error|backtrace" "$work/vanish.txt"; then fail "crash trace for a removed directory"; fi

echo "smoke: an output directory made read-only mid-run stops the run with one line; made writable, it resumes to the uninterrupted result"
# Root ignores permissions, so as root the run drops to nobody (setpriv) in a directory nobody owns.
ro=$(mktemp -d); chmod 755 "$ro"
cp "$bin" "$ro/mc-generic"; runner=("$ro/mc-generic")
if [ "$(id -u)" = 0 ]; then chown 65534 "$ro"; runner=(setpriv --reuid=65534 --regid=65534 --clear-groups "$ro/mc-generic"); fi
( cd "$ro" && exec "${runner[@]}" "${mid[@]}" --output "$ro/readonly" ) > /dev/null 2> "$work/readonly.txt" & pid=$!
waitfor "$ro/readonly/state.json"
chmod 555 "$ro/readonly"
set +e; wait "$pid"; readonly=$?; set -e
chmod 755 "$ro/readonly"
test "$readonly" -eq 1 || fail "run in a read-only directory exited $readonly: $(cat "$work/readonly.txt")"
grep -q "cannot write $ro/readonly/state.json (.*): permission denied; the previous state.json, if any, is intact" "$work/readonly.txt" || fail "read-only message: $(cat "$work/readonly.txt")"
( cd "$ro" && exec "${runner[@]}" "${mid[@]}" --resume "$ro/readonly" ) > /dev/null 2>&1 || fail "resume after the directory was made writable"
"$bin" "${mid[@]}" --output "$work/readonly-whole" > /dev/null 2>&1
python3 "$(dirname "$0")/compare-summaries.py" "$ro/readonly/summary.json" "$work/readonly-whole/summary.json" --complete > /dev/null \
  || fail "the run resumed after a read-only directory differs from the uninterrupted one"
rm -rf "$ro"
echo "smoke: OK"
