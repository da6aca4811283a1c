#!/usr/bin/env python3
"""Independent Float64 reference for `mc-generic --model`: a BERT forward pass in numpy.

Reads model.safetensors itself (no safetensors package), tokenizes with the
`tokenizers` package (the checkpoint's tokenizer.json, HF's Rust tokenizer: an
implementation independent of mc-generic's WordPiece), cuts the text into the
same windows ([CLS] + seq-len - 2 tokens + [SEP], last partial window
dropped), runs Dong et al.'s four surgeries in Float64 and prints, per variant
and state 0..L, the mean of each metric over the windows as JSON.

    bert_reference.py --model DIR --text FILE --seq-len 128 [--samples K] > reference.json
    bert_reference.py ... --compare OUT/summary.json   # exit 1 if a mean differs by more than --tolerance

Only numpy and tokenizers are needed (CI); `check_against_hf.py` checks this
forward pass against HF transformers itself.
"""
import argparse
import json
import math
import struct
import sys

import numpy as np

VARIANTS = {
    # name: (attention residual, post-LN, mlp, mlp residual)
    "attn+ln": (False, True, False, False),
    "attn+ln+mlp+res-mlp": (False, True, True, True),
    "attn+res+ln": (True, True, False, False),
    "attn+res+ln+mlp": (True, True, True, True),
}
F32_EPS = float(np.finfo(np.float32).eps)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    buffer = memoryview(data)[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = buffer[begin:end]
        dtype = entry["dtype"]
        if dtype == "F32":
            values = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif dtype == "F16":
            values = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif dtype == "BF16":
            values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        else:
            continue
        tensors[name] = values.reshape(entry["shape"])
    return tensors


def lookup(tensors, name):
    for candidate in (name, "bert." + name, name.replace("LayerNorm.weight", "LayerNorm.gamma"),
                      name.replace("LayerNorm.bias", "LayerNorm.beta")):
        if candidate in tensors:
            return tensors[candidate]
    raise KeyError(name)


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def activation(x, name):
    if name == "gelu":
        erf = np.vectorize(math.erf)
        return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    if name == "gelu_new":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    if name == "relu":
        return np.maximum(x, 0)
    raise ValueError(name)


def attention(x, w, heads):
    n, d = x.shape
    dk = d // heads
    q = x @ w["q"].T + w["qb"]
    k = x @ w["k"].T + w["kb"]
    v = x @ w["v"].T + w["vb"]
    context = np.zeros_like(x)
    entropies = []
    for h in range(heads):
        cols = slice(h * dk, (h + 1) * dk)
        scores = q[:, cols] @ k[:, cols].T / math.sqrt(dk)
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropies.append(-np.where(p > 0, p * np.log(p), 0.0).sum(axis=1))
        context[:, cols] = p @ v[:, cols]
    return context @ w["o"].T + w["ob"], float(np.mean(entropies))


def metrics(x, entropy):
    n, d = x.shape
    sigma = np.linalg.svd(x, compute_uv=False)
    mean = x.mean(axis=0)
    centred = x - mean
    centred_sigma = np.linalg.svd(centred, compute_uv=False)
    tol = max(n, d) * F32_EPS * sigma[0]

    def composite(a):
        return math.sqrt(np.abs(a).sum(axis=0).max() * np.abs(a).sum(axis=1).max())

    gram = x @ x.T
    norms = np.sqrt(np.diag(gram))
    cosines = np.abs(gram / np.outer(norms, norms))[np.triu_indices(n, 1)]
    p = sigma / sigma.sum()
    p = p[p > 0]
    return {
        "rank": float((sigma > tol).sum()),
        "affine_rank": float((centred_sigma > tol).sum()),
        "residual_ratio": float(np.linalg.norm(centred) / np.linalg.norm(x)),
        "dong_ratio": composite(centred) / composite(x),
        "stable_rank": float((x ** 2).sum() / sigma[0] ** 2),
        "effective_rank": float(math.exp(-(p * np.log(p)).sum())),
        "sigma_1": float(sigma[0]),
        "mean_abs_cosine": float(cosines.mean()),
        "attention_entropy": entropy,
    }


def forward(ids, tensors, config):
    """Metrics of every state of every surgery."""
    return {name: [metrics(x, e) for x, e in states] for name, states in forward_states(ids, tensors, config, True).items()}


def forward_states(ids, tensors, config, with_entropy=False):
    """The states 0..L of every surgery (with each layer's mean attention entropy if asked)."""
    eps = config.get("layer_norm_eps", 1e-12)
    heads = config["num_attention_heads"]
    act = config.get("hidden_act", "gelu")
    n = len(ids)
    x0 = (lookup(tensors, "embeddings.word_embeddings.weight")[ids]
          + lookup(tensors, "embeddings.token_type_embeddings.weight")[0]
          + lookup(tensors, "embeddings.position_embeddings.weight")[:n])
    x0 = layer_norm(x0, lookup(tensors, "embeddings.LayerNorm.weight"), lookup(tensors, "embeddings.LayerNorm.bias"), eps)
    results = {}
    for name, (attn_res, post_ln, mlp, mlp_res) in VARIANTS.items():
        x = x0
        states = [(x, None)]
        for layer in range(config["num_hidden_layers"]):
            def t(suffix):
                return lookup(tensors, f"encoder.layer.{layer}.{suffix}")
            w = {"q": t("attention.self.query.weight"), "qb": t("attention.self.query.bias"),
                 "k": t("attention.self.key.weight"), "kb": t("attention.self.key.bias"),
                 "v": t("attention.self.value.weight"), "vb": t("attention.self.value.bias"),
                 "o": t("attention.output.dense.weight"), "ob": t("attention.output.dense.bias")}
            a, entropy = attention(x, w, heads)
            h = a + x if attn_res else a
            if post_ln:
                h = layer_norm(h, t("attention.output.LayerNorm.weight"), t("attention.output.LayerNorm.bias"), eps)
            if mlp:
                inner = activation(h @ t("intermediate.dense.weight").T + t("intermediate.dense.bias"), act)
                f = inner @ t("output.dense.weight").T + t("output.dense.bias")
                if mlp_res:
                    f = f + h
                h = layer_norm(f, t("output.LayerNorm.weight"), t("output.LayerNorm.bias"), eps) if post_ln else f
            x = h
            states.append((x, entropy))
        results[name] = states if with_entropy else [s for s, _ in states]
    return results


def windows(model, text_path, seq_len):
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(f"{model}/tokenizer.json")
    tokenizer.no_padding()
    tokenizer.no_truncation()
    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    chunk = seq_len - 2
    return [[cls] + ids[i:i + chunk] + [sep] for i in range(0, len(ids) - chunk + 1, chunk)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--text", required=True)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--samples", type=int, help="first K windows (default: all)")
    parser.add_argument("--compare", help="an mc-generic summary.json to check against")
    parser.add_argument("--tolerance", type=float, default=1e-3)
    args = parser.parse_args()
    with open(f"{args.model}/config.json") as f:
        config = json.load(f)
    tensors = read_safetensors(f"{args.model}/model.safetensors")
    sequences = windows(args.model, args.text, args.seq_len)[:args.samples]
    means = {}
    for ids in sequences:
        for variant, states in forward(ids, tensors, config).items():
            target = means.setdefault(variant, [dict() for _ in states])
            for layer, values in enumerate(states):
                for metric, value in values.items():
                    if value is not None:
                        target[layer][metric] = target[layer].get(metric, 0.0) + value / len(sequences)
    if not args.compare:
        json.dump({"windows": len(sequences), "means": means}, sys.stdout, indent=1, sort_keys=True)
        return
    with open(args.compare) as f:
        summary = json.load(f)
    if summary["completed_samples"] != len(sequences):
        sys.exit(f"bert_reference: {args.compare} has {summary['completed_samples']} samples, the reference {len(sequences)} windows")
    worst, failures, compared = 0.0, [], 0
    # Bounded metrics (ratios, cosines, entropies, ranks) absolutely; the others relative to the reference.
    relative = {"stable_rank", "effective_rank", "sigma_1"}
    for variant, layers in means.items():
        tool = summary["variants"][variant]["layers"]
        for layer, values in enumerate(layers):
            for metric, expected in values.items():
                got = tool[layer][f"{metric}_mean"]
                if got is None:
                    failures.append(f"{variant} layer {layer} {metric}: mc-generic null, numpy Float64 {expected:.6g}")
                    continue
                error = abs(got - expected) / (abs(expected) if metric in relative else 1.0)
                compared += 1
                worst = max(worst, error)
                if not error <= args.tolerance:
                    failures.append(f"{variant} layer {layer} {metric}: mc-generic {got:.6g}, numpy Float64 {expected:.6g}")
    print(f"bert_reference: {compared} per-layer means of {len(sequences)} windows compared, worst difference {worst:.2e} (tolerance {args.tolerance:g})")
    if failures:
        print("\n".join(failures[:20]))
        sys.exit(f"bert_reference: {len(failures)} means differ by more than {args.tolerance:g}")


if __name__ == "__main__":
    main()
