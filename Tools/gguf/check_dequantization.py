#!/usr/bin/env python3
"""mc-generic's GGUF reader and dequantisation against the `gguf` package (gguf-py).

Writes a GGUF file with gguf's own writer holding one tensor of every supported type —
F32, F16, BF16 and Q8_0/Q4_0/Q4_1/Q5_0/Q5_1 quantised by gguf from random values, and
Q4_K/Q5_K/Q6_K as random blocks (random bytes with finite fp16 scales, since gguf-py has
no quantiser for them) — then dequantises each with `mc-generic inspect --tensor` and
with gguf.quants.dequantize, and requires the two to agree bit for bit. Odd shapes
(several blocks per row, several rows) and values spanning several binades.

    check_dequantization.py --binary .build/release/mc-generic
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES

QUANTISED = [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]
RANDOM_BLOCKS = {  # type: byte offsets of its fp16 scale fields within a block
    T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}


def random_blocks(qtype, rows, columns, rng):
    block_size, block_bytes = GGML_QUANT_SIZES[qtype]
    blocks = rows * columns // block_size
    raw = rng.integers(0, 256, size=(blocks, block_bytes), dtype=np.uint8)
    for offset in RANDOM_BLOCKS[qtype]:
        scales = (rng.standard_normal(blocks) * 0.01).astype(np.float16).view(np.uint8).reshape(blocks, 2)
        raw[:, offset:offset + 2] = scales
    return raw.reshape(rows, columns // block_size * block_bytes)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/mc-generic")
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    failures = []
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "types.gguf")
        writer = gguf.GGUFWriter(path, "llama")
        expected = {}
        rows, columns = 3, 512
        values = (rng.standard_normal((rows, columns)) * np.exp(rng.uniform(-4, 2, (rows, columns)))).astype(np.float32)
        for name, data, qtype in [("f32", values, T.F32), ("f16", values.astype(np.float16), T.F16)]:
            writer.add_tensor(name, data, raw_dtype=qtype)
            expected[name] = data.astype(np.float32)
        bf16 = gguf.quants.quantize(values, T.BF16)
        writer.add_tensor("bf16", bf16, raw_dtype=T.BF16)
        expected["bf16"] = gguf.quants.dequantize(bf16, T.BF16)
        for qtype in QUANTISED:
            q = gguf.quants.quantize(values, qtype)
            writer.add_tensor(qtype.name.lower(), q, raw_dtype=qtype)
            expected[qtype.name.lower()] = gguf.quants.dequantize(q, qtype)
        for qtype in RANDOM_BLOCKS:
            q = random_blocks(qtype, rows, columns, rng)
            writer.add_tensor(qtype.name.lower(), q, raw_dtype=qtype)
            expected[qtype.name.lower()] = gguf.quants.dequantize(q, qtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        for name, want in expected.items():
            out = os.path.join(work, name + ".npy")
            subprocess.run([args.binary, "inspect", path, "--tensor", name, "--output", out], check=True)
            got = np.load(out)
            want = np.asarray(want, dtype=np.float32).reshape(got.shape)
            same = np.array_equal(got.view(np.uint32), want.view(np.uint32))
            print(f"gguf: {name:5s} {got.shape} {'bit-identical' if same else 'DIFFERS'}"
                  f" (max |diff| {np.abs(got - want).max():.3g}, values up to {np.abs(want).max():.3g})")
            if not same:
                failures.append(name)
    if failures:
        print("gguf: FAIL:", ", ".join(failures))
        sys.exit(1)
    print("gguf: every type dequantises bit-identically to gguf-py")


if __name__ == "__main__":
    main()
