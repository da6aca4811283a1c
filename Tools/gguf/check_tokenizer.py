#!/usr/bin/env python3
"""mc-generic's byte-level BPE against HF's tokenizers, from GGUF metadata and from tokenizer.json.

Encodes a few hundred varied lines (accents, CJK, emoji, whitespace runs, digits,
contractions, code, special tokens written literally) with `mc-generic tokenize --model … --text`
and with the `tokenizers` package, add_special_tokens=False, and requires identical ids on every
line, for four tokenizers:
  - SmolLM2's, from its GGUF file (transformers' AutoTokenizer(gguf_file=…) on the HF side);
  - the same saved by transformers as tokenizer.json (SmolLM's Digits + ByteLevel pre-tokenizer);
  - a GPT-2-style byte-level BPE trained here by `tokenizers` (ByteLevel pre-tokenizer);
  - that one with Llama 3's pre-tokenizer (Split on its expression + ByteLevel) and ignore_merges.

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
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    total_failures = 0
    with tempfile.TemporaryDirectory() as work:
        text = os.path.join(work, "lines.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

        def ours(model):
            out = subprocess.run([args.binary, "tokenize", "--model", model, "--text", text], check=True, capture_output=True,
                                 text=True).stdout
            result = [json.loads(l) for l in out.splitlines()]
            assert len(result) == len(lines), (len(result), len(lines))
            return result

        def report(label, mine, theirs):
            failures = [(line, a, b) for line, a, b in zip(lines, mine, theirs) if a != b]
            print(f"tokenizer: {label}: {len(lines) - len(failures)}/{len(lines)} lines identical")
            for line, a, b in failures[:10]:
                print(f"  {line!r}:\n    ours {a}\n    HF   {b}")
            return len(failures)

        reference = [tokenizer(line, add_special_tokens=False)["input_ids"] for line in lines]
        total_failures += report("SmolLM2 GGUF vs HF's tokenizer from the GGUF", ours(path), reference)
        saved = os.path.join(work, "smollm2-tokenizer")
        tokenizer.save_pretrained(saved)
        total_failures += report("SmolLM2 tokenizer.json (saved by transformers)", ours(saved), reference)

        # A GPT-2-style byte-level BPE trained on varied text, then the same merges under Llama 3's pre-tokenizer.
        trained = Tokenizer(models.BPE())
        trained.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        trained.decoder = decoders.ByteLevel()
        corpus = lines * 3 + random_lines(2000, random.Random(7))
        trained.train_from_iterator(corpus, trainers.BpeTrainer(
            vocab_size=1500, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        gpt2_dir = os.path.join(work, "gpt2-style")
        os.makedirs(gpt2_dir)
        trained.save(os.path.join(gpt2_dir, "tokenizer.json"))
        total_failures += report("GPT-2-style tokenizer.json (ByteLevel)", ours(gpt2_dir),
                                 [trained.encode(l, add_special_tokens=False).ids for l in lines])
        description = json.load(open(os.path.join(gpt2_dir, "tokenizer.json")))
        description["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
        description["model"]["ignore_merges"] = True
        llama_dir = os.path.join(work, "llama3-style")
        os.makedirs(llama_dir)
        with open(os.path.join(llama_dir, "tokenizer.json"), "w") as f:
            json.dump(description, f)
        llama3 = Tokenizer.from_file(os.path.join(llama_dir, "tokenizer.json"))
        total_failures += report("Llama-3-style tokenizer.json (Split + ByteLevel, ignore_merges)", ours(llama_dir),
                                 [llama3.encode(l, add_special_tokens=False).ids for l in lines])
        # A tokenizer.json of another model type is refused in one line.
        unigram = os.path.join(work, "unigram")
        os.makedirs(unigram)
        with open(os.path.join(unigram, "tokenizer.json"), "w") as f:
            json.dump({"model": {"type": "Unigram", "vocab": []}}, f)
        refused = subprocess.run([args.binary, "tokenize", "--model", unigram, "x"], capture_output=True, text=True)
        if refused.returncode == 0 or "tokenizer model type 'Unigram' is not implemented" not in refused.stderr:
            print(f"tokenizer: a Unigram tokenizer.json was not refused: {refused.stderr.strip()!r}")
            total_failures += 1
    sys.exit(1 if total_failures else 0)


LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


if __name__ == "__main__":
    main()
