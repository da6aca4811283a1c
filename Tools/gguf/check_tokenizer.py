#!/usr/bin/env python3
"""mc-generic's byte-level BPE against HF's tokenizer built from the same GGUF (SmolLM2).

Encodes a few hundred varied lines (accents, CJK, emoji, whitespace runs, digits,
contractions, code, special tokens written literally) with `mc-generic tokenize --model
FILE.gguf --text` and with transformers' AutoTokenizer(gguf_file=…) (the `tokenizers`
package underneath), add_special_tokens=False, and requires identical ids on every line.

    check_tokenizer.py --binary .build/release/mc-generic
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_smollm2 import gguf_path  # noqa: E402

FIXED = [
    "Hello world", "  leading spaces", "trailing spaces   ", "tabs\tand\ttabs", "multiple   spaces   inside",
    "it's they're we've I'm you'll he'd", "IT'S THEY'RE", "12345 67890 3.14159 1e-10 0x1F", "a1b2c3",
    "café naïve résumé Ångström", "Привет, мир", "日本語のテキスト", "中文分词测试", "한국어 텍스트",
    "emoji 😀🎉👍🏽 family 👨‍👩‍👧", "math ∑∫√∞ ≤ ≥", "def f(x):\n    return x**2  # square",
    "for (int i = 0; i < n; ++i) { a[i] += b[i]; }", "<|im_start|>user\nhi<|im_end|>", "<|endoftext|>",
    "mixed<|im_end|>text", "\n\n\n", " ", "", "a", "!!!???...", "URL https://example.com/path?q=1&r=2",
    "email someone@example.org", "quotes \"double\" 'single' «guillemets»", "ZWJ\u200bzero\u200cwidth",
    "line one\r\nline two", "über-cool co-operate", "ÀÉÎÕÜ àéîõü", "tab\t\tdouble", "   \n   ",
]


def random_lines(count, rng):
    alphabet = list("abcdefghijklmnopqrstuvwxyz ABCXYZ 0123456789 .,;:!?'\"()[]{}<>-_=+*/\\|@#$%^&~`") + \
        list("éèêëàâäôöûüçñß") + list("αβγδ") + list("日本語中文") + ["😀", "🎉", "\t", "  ", "'s", "'ll"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(count)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/mc-generic")
    parser.add_argument("--random", type=int, default=300)
    args = parser.parse_args()
    import transformers
    from transformers import AutoTokenizer
    transformers.logging.set_verbosity_error()
    path = gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path))
    lines = FIXED + random_lines(args.random, random.Random(2026))
    lines = [l.replace("\n", " ") if l.count("\n") else l for l in lines]  # one line each in the file
    lines = [l.replace("\r", " ") for l in lines]
    with tempfile.TemporaryDirectory() as work:
        text = os.path.join(work, "lines.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        out = subprocess.run([args.binary, "tokenize", "--model", path, "--text", text], check=True, capture_output=True, text=True).stdout
    ours = [json.loads(l) for l in out.splitlines()]
    assert len(ours) == len(lines), (len(ours), len(lines))
    failures = [(line, mine, tokenizer(line, add_special_tokens=False)["input_ids"]) for line, mine in zip(lines, ours)]
    failures = [f for f in failures if f[1] != f[2]]
    print(f"tokenizer: {len(lines) - len(failures)}/{len(lines)} lines identical to HF's tokenizer from the GGUF")
    for line, mine, theirs in failures[:10]:
        print(f"  {line!r}:\n    ours {mine}\n    HF   {theirs}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
