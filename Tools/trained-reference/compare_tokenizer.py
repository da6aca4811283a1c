#!/usr/bin/env python3
"""Compares `mc-generic tokenize` output (one JSON array of ids per line) with HF's
`tokenizers` on the same lines. Exit 1 on any difference.

    compare_tokenizer.py MODEL_DIR CASES.txt MC_GENERIC_OUTPUT.txt
"""
import json
import sys

from tokenizers import Tokenizer

model, cases_path, output_path = sys.argv[1:4]
tokenizer = Tokenizer.from_file(f"{model}/tokenizer.json")
tokenizer.no_padding()
tokenizer.no_truncation()
with open(cases_path, encoding="utf-8") as f:
    lines = f.read().split("\n")
if lines and lines[-1] == "":
    lines.pop()
with open(output_path) as f:
    ours = [json.loads(line) for line in f]
if len(ours) != len(lines):
    sys.exit(f"compare_tokenizer: {len(lines)} input lines, {len(ours)} output lines")
bad = 0
for line, got in zip(lines, ours):
    expected = tokenizer.encode(line).ids
    if got != expected:
        bad += 1
        if bad <= 5:
            print(f"line {line!r}:\n  mc-generic {got}\n  tokenizers {expected}")
total = sum(len(x) for x in ours)
print(f"compare_tokenizer: {len(lines)} lines, {total} tokens, {sum(len(l.encode()) for l in lines)} bytes; {bad} lines differ")
sys.exit(1 if bad else 0)
