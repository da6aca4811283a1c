#!/usr/bin/env python3
"""Writes a few kB of varied text, one case per line, for the bulk tokenizer comparison
(mc-generic tokenize against HF's `tokenizers`): accents, CJK, control and
zero-width characters, long words, punctuation runs, mixed scripts, and the
lines of a real document given as argument 2.

    tokenizer_cases.py OUT.txt [REAL_TEXT]
"""
import random
import sys

cases = [
    "Hello, my dog is cute",
    "UNwant\u00e9d,running",
    " \tHeLLo!how  \n Are yoU?  ".replace("\n", " "),
    "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve fa\u00e7ade, \u00c5ngstr\u00f6m, \u0141\u00f3d\u017a, S\u00e3o Paulo, \u0130stanbul",
    "Ma\u00f1ana \u00bfqu\u00e9 tal? \u00a1Ol\u00e9! Stra\u00dfe \u0152uvre \u00e6ther \u00f8re \u00fe\u00f0",
    "\u4f60\u597d\u4e16\u754c\uff0c\u8fd9\u662f\u4e00\u4e2a\u6d4b\u8bd5\u3002\u6771\u4eac\u3068\u5927\u962a mixed\u6f22\u5b57text \u3053\u3093\u306b\u3061\u306f \ud55c\uad6d\uc5b4",
    "zero\u200bwidth\u200cjoin\u200dand\ufeffbom \u00adsoft\u00adhyphen \u200e\u200fmarks",
    "control\u0007bell\u0000null\u001bescape\u0085nel\u000bvt\u000cff tab\there",
    "replacement\ufffdchar and private\ue000use",
    "a" * 99 + " " + "b" * 100 + " " + "c" * 101,
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "!!!??? ...--- ((()))[[]]{{}} @#$%^&*_+=~`|\\/<>;:'\" \u2014\u2013\u2026\u00ab\u00bb\u201c\u201d\u2018\u2019",
    "e-mail: someone@example.com, url https://example.org/path?x=1&y=2#frag, 3.14159, 1,000,000, $9.99, 50%",
    "\u0391\u03b8\u03ae\u03bd\u03b1 \u03ba\u03b1\u03b9 \u03c3\u03bf\u03c6\u03af\u03b1 \u041c\u043e\u0441\u043a\u0432\u0430 \u041f\u0440\u0438\u0432\u0435\u0442 \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u0928\u092e\u0938\u094d\u0924\u0947 \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
    "emoji \U0001f600\U0001f44d\U0001f3fd and symbols \u2603 \u2764\ufe0f \u00a9 \u00ae \u2122 \u00b0C \u00b1 \u00d7 \u00f7 \u221e",
    "Ligatures \ufb01 \ufb02, fullwidth \uff21\uff22\uff23 \uff11\uff12\uff13, combining e\u0301 a\u0308 n\u0303",
    "ALL CAPS SENTENCE WITH ACRONYMS LIKE NASA, UNESCO AND U.S.A.",
    "\u3000ideographic\u3000space\u2028line\u2029paragraph\u00a0nbsp\u2009thin",
    "",
    "   ",
    "don't won't shouldn't y'all o'clock rock'n'roll",
]
rng = random.Random(7)
alphabet = "abcdefghijklmnopqrstuvwxyz\u00e9\u00e8\u00fc\u00f1\u4e00\u4e8c\u4e09 .,;!?-'\"()0123456789"
for _ in range(40):
    cases.append("".join(rng.choice(alphabet) for _ in range(rng.randint(10, 80))))
if len(sys.argv) > 2:
    with open(sys.argv[2], encoding="utf-8") as f:
        cases += [line for line in f.read().split("\n") if line.strip()][:150]
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("\n".join(c.replace("\n", " ").replace("\r", " ") for c in cases) + "\n")
