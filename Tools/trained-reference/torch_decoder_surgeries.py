#!/usr/bin/env python3
"""Dong et al.'s four pre-norm surgeries on a Llama-family GGUF model, written lean in PyTorch.

The comparison kernel-compare --checkpoint FILE.gguf runs beside mc-generic: Float32, batch 1,
one window of n token ids, the four surgeries of mc-generic's default (attn+preln,
attn+preln+mlp+res-mlp, attn+res+preln, attn+res+preln+mlp), and only Dong's ratio of every
state (the cheapest metric: no singular values). Weights are read and dequantised with gguf-py,
llama.cpp's Q/K row permutation undone; attention is torch's scaled_dot_product_attention
(causal), RoPE rotate_half, grouped-query heads by repeat_interleave.

  torch_decoder_surgeries.py --model FILE.gguf --seq-len 128 --threads 2 --time
      prints JSON {"seconds_per_sample": best over rounds, "torch": version, "threads": T}
  torch_decoder_surgeries.py --model FILE.gguf --token-ids FILE --seq-len N --ratios
      prints JSON {variant: [Dong ratio of states 0..L]} for the first window (to check the
      script against mc-generic's samples.csv)
"""
import argparse
import json
import math
import time

import numpy as np
import torch

VARIANTS = {  # attention residual, mlp, mlp residual
    "attn+preln": (False, False, False),
    "attn+preln+mlp+res-mlp": (False, True, True),
    "attn+res+preln": (True, False, False),
    "attn+res+preln+mlp": (True, True, True),
}


def load(path):
    import gguf
    reader = gguf.GGUFReader(path)
    field = lambda key: reader.fields[key].parts[reader.fields[key].data[0]][0]
    cfg = dict(L=int(field("llama.block_count")), d=int(field("llama.embedding_length")),
               H=int(field("llama.attention.head_count")), Hkv=int(field("llama.attention.head_count_kv")),
               eps=float(field("llama.attention.layer_norm_rms_epsilon")), theta=float(field("llama.rope.freq_base")))
    tensors = {}
    for t in reader.tensors:
        values = gguf.quants.dequantize(t.data, t.tensor_type)
        tensors[t.name] = torch.from_numpy(np.ascontiguousarray(values.reshape(list(reversed([int(x) for x in t.shape]))), dtype=np.float32))

    def unpermute(w, heads):
        # llama.cpp stores row 2i + s of a head at HF's row s·w/2 + i.
        rows = w.shape[0] // heads
        return w.reshape(heads, rows // 2, 2, -1).transpose(1, 2).reshape(w.shape)
    for l in range(cfg["L"]):
        tensors[f"blk.{l}.attn_q.weight"] = unpermute(tensors[f"blk.{l}.attn_q.weight"], cfg["H"]).contiguous()
        tensors[f"blk.{l}.attn_k.weight"] = unpermute(tensors[f"blk.{l}.attn_k.weight"], cfg["Hkv"]).contiguous()
    return cfg, tensors


def rms_norm(x, g, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def rotary(n, dk, theta):
    inv = 1.0 / theta ** (torch.arange(0, dk, 2, dtype=torch.float64) / dk)
    angles = torch.outer(torch.arange(n, dtype=torch.float64), inv)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos().float(), angles.sin().float()


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], dim=-1) * sin


def dong_ratio(x):
    composite = lambda a: math.sqrt(a.abs().sum(0).max().item() * a.abs().sum(1).max().item())
    return composite(x - x.mean(0, keepdim=True)) / composite(x)


def surgeries(cfg, t, ids, cos, sin):
    """Dong's ratio of states 0..L of each variant."""
    n, d, H, Hkv = len(ids), cfg["d"], cfg["H"], cfg["Hkv"]
    dk = d // H
    x0 = t["token_embd.weight"][ids]
    ratios = {}
    for name, (attention_skip, has_mlp, mlp_skip) in VARIANTS.items():
        x, values = x0, [dong_ratio(x0)]
        for l in range(cfg["L"]):
            w = lambda s: t[f"blk.{l}.{s}"]
            h = rms_norm(x, w("attn_norm.weight"), cfg["eps"])
            q = (h @ w("attn_q.weight").T).view(n, H, dk).transpose(0, 1)
            k = (h @ w("attn_k.weight").T).view(n, Hkv, dk).transpose(0, 1)
            v = (h @ w("attn_v.weight").T).view(n, Hkv, dk).transpose(0, 1)
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
            k, v = k.repeat_interleave(H // Hkv, 0), v.repeat_interleave(H // Hkv, 0)
            context = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            a = context.transpose(0, 1).reshape(n, d) @ w("attn_output.weight").T
            x = x + a if attention_skip else a
            if has_mlp:
                g = rms_norm(x, w("ffn_norm.weight"), cfg["eps"])
                f = (torch.nn.functional.silu(g @ w("ffn_gate.weight").T) * (g @ w("ffn_up.weight").T)) @ w("ffn_down.weight").T
                x = x + f if mlp_skip else f
            state = rms_norm(x, t["output_norm.weight"], cfg["eps"]) if l == cfg["L"] - 1 else x
            values.append(dong_ratio(state))
        ratios[name] = values
    return ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--token-ids")
    parser.add_argument("--time", action="store_true")
    parser.add_argument("--ratios", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg, tensors = load(args.model)
    n = args.seq_len
    if args.token_ids:
        ids = json.loads(open(args.token_ids).readline())
    else:
        ids = list(np.random.default_rng(0).choice(tensors["token_embd.weight"].shape[0], n, replace=False))
    cos, sin = rotary(n, cfg["d"] // cfg["H"], cfg["theta"])
    with torch.inference_mode():
        if args.ratios:
            print(json.dumps(surgeries(cfg, tensors, ids, cos, sin)))
        if args.time:
            surgeries(cfg, tensors, ids, cos, sin)  # warm-up
            best = math.inf
            for _ in range(args.rounds):
                start = time.perf_counter()
                surgeries(cfg, tensors, ids, cos, sin)
                best = min(best, time.perf_counter() - start)
            print(json.dumps({"seconds_per_sample": best, "torch": torch.__version__, "threads": args.threads}))


if __name__ == "__main__":
    main()
