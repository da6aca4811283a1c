#!/usr/bin/env python3
"""mc-generic's architectures against Hugging Face transformers and an independent numpy forward pass.

For each preset (at a small size), with the release binary:
  1. `mc-generic export` writes sample S's weights and input as an HF directory;
  2. `mc-generic --engine dense --input embeddings --per-sample` runs samples 0..S with Dong's four surgeries;
  3. HF's own model class (AutoModel, Float64, eager attention) runs the export with
     output_hidden_states/output_attentions; numpy computes the metrics of its states;
  4. numpy_forward() below runs every surgery in Float64 from the exported tensors;
and checks: the tool's unmodified variant == HF (every metric, every layer), the tool's
surgeries == numpy, numpy's unmodified states == HF's states.

Tolerances: ranks exact on states that have not collapsed; the continuous metrics to
1e-4 relative (the tool runs in Float32: its states carry ~1e-6 relative error);
residual and Dong ratios floored at 1e-5 and log10 sigma ratios at -5 before comparing
(collapsed rows differ only by Float32 round-off, which no Float32 computation resolves).

    check.py --binary .build/release/mc-generic [--presets gpt2,llama] [--sample 3]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

SMALL = {
    "bert-base": ["--layers", "3", "--d-model", "64", "--heads", "4", "--d-ff", "128"],
    "albert-base": ["--layers", "3", "--d-model", "64", "--heads", "4", "--d-ff", "128", "--embedding-size", "32"],
    "gpt2": ["--layers", "3", "--d-model", "64", "--heads", "4", "--d-ff", "128"],
    "llama": ["--layers", "3", "--d-model", "64", "--heads", "4", "--kv-heads", "2", "--d-ff", "96"],
    "pythia": ["--layers", "3", "--d-model", "64", "--heads", "4", "--d-ff", "128"],
}
CONTINUOUS = ["residual_ratio", "dong_ratio", "log10_sigma_ratio", "stable_rank", "effective_rank",
              "attention_entropy", "sigma_1", "mean_abs_cosine", "attention_spectral_gap", "attention_sink_mass"]


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "trained-reference"))
from bert_reference import activation, layer_norm, read_safetensors  # noqa: E402  (the BERT reference's reader, GELU, LayerNorm)
from bert_reference import metrics as bert_metrics  # noqa: E402


def attention_statistics(probabilities):
    """Entropy, mean σ₁ − σ₂ and mean first-token mass over heads of [heads, n, n] probabilities."""
    if probabilities is None:
        return dict(entropy=float("nan"), gap=float("nan"), sink=float("nan"))
    p = np.asarray(probabilities)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = float(np.mean(-np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)))
    gaps = [s[0] - s[1] for s in (np.linalg.svd(head, compute_uv=False) for head in p)]
    return dict(entropy=entropy, gap=float(np.mean(gaps)), sink=float(p[:, :, 0].mean()))


def metrics(x, attention):
    """The BERT reference's metrics plus log10(σ_min/σ_max) and the attention statistics."""
    values = bert_metrics(x, attention["entropy"])
    values["attention_spectral_gap"] = attention["gap"]
    values["attention_sink_mass"] = attention["sink"]
    sigma = np.linalg.svd(x, compute_uv=False)
    smallest = sigma[min(x.shape) - 1]
    values["log10_sigma_ratio"] = math.log10(smallest / sigma[0]) if smallest > 0 else -300.0
    return values


# ---------------------------------------------------------------- numpy forward pass

def rms_norm(x, g, eps):
    return x / np.sqrt((x ** 2).mean(axis=1, keepdims=True) + eps) * g


def act(x, name):
    return x / (1 + np.exp(-x)) if name == "silu" else activation(x, name)


def canonical(arch, cfg, t):
    """Per-layer dicts of Linear weights [out, in] and biases, norms, the embedding output X0, the final norm."""
    d = cfg.get("hidden_size", cfg.get("n_embd"))
    L = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    H = cfg.get("num_attention_heads", cfg.get("n_head"))
    dk = d // H
    layers = []
    inputs = read_safetensors(cfg["_inputs"])["inputs_embeds"][0]
    n = inputs.shape[0]
    z = lambda k: np.zeros(k)
    if arch in ("bert-base", "albert-base"):
        x = inputs + t["embeddings.position_embeddings.weight"][:n] + t["embeddings.token_type_embeddings.weight"][0]
        x = layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], cfg["layer_norm_eps"])
        if arch == "albert-base":
            x = x @ t["encoder.embedding_hidden_mapping_in.weight"].T + t["encoder.embedding_hidden_mapping_in.bias"]
            groups = cfg["num_hidden_groups"]
            names = ("attention.query", "attention.key", "attention.value", "attention.dense", "attention.LayerNorm",
                     "ffn", "ffn_output", "full_layer_layer_norm")
        else:
            names = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                     "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")
        for l in range(L):
            p = (f"encoder.albert_layer_groups.{l // (L // groups)}.albert_layers.0." if arch == "albert-base"
                 else f"encoder.layer.{l}.")
            g = lambda s: t[p + s]
            layers.append(dict(
                q=g(names[0] + ".weight"), qb=g(names[0] + ".bias"), k=g(names[1] + ".weight"), kb=g(names[1] + ".bias"),
                v=g(names[2] + ".weight"), vb=g(names[2] + ".bias"), o=g(names[3] + ".weight"), ob=g(names[3] + ".bias"),
                n1=(g(names[4] + ".weight"), g(names[4] + ".bias")), up=g(names[5] + ".weight"), upb=g(names[5] + ".bias"),
                down=g(names[6] + ".weight"), downb=g(names[6] + ".bias"), n2=(g(names[7] + ".weight"), g(names[7] + ".bias"))))
        return x, layers, None
    if arch == "gpt2":
        x = inputs + t["wpe.weight"][:n]
        for l in range(L):
            g = lambda s: t[f"h.{l}." + s]
            w, b = g("attn.c_attn.weight"), g("attn.c_attn.bias")
            layers.append(dict(
                q=w[:, :d].T, k=w[:, d:2 * d].T, v=w[:, 2 * d:].T, qb=b[:d], kb=b[d:2 * d], vb=b[2 * d:],
                o=g("attn.c_proj.weight").T, ob=g("attn.c_proj.bias"), n1=(g("ln_1.weight"), g("ln_1.bias")),
                up=g("mlp.c_fc.weight").T, upb=g("mlp.c_fc.bias"), down=g("mlp.c_proj.weight").T, downb=g("mlp.c_proj.bias"),
                n2=(g("ln_2.weight"), g("ln_2.bias"))))
        return x, layers, (t["ln_f.weight"], t["ln_f.bias"])
    if arch == "llama":
        for l in range(L):
            g = lambda s: t[f"layers.{l}." + s]
            bias = lambda s, k: t.get(f"layers.{l}." + s, z(k))
            kvw = g("self_attn.k_proj.weight").shape[0]
            layers.append(dict(
                q=g("self_attn.q_proj.weight"), k=g("self_attn.k_proj.weight"), v=g("self_attn.v_proj.weight"),
                o=g("self_attn.o_proj.weight"), qb=bias("self_attn.q_proj.bias", d), kb=bias("self_attn.k_proj.bias", kvw),
                vb=bias("self_attn.v_proj.bias", kvw), ob=bias("self_attn.o_proj.bias", d),
                n1=(g("input_layernorm.weight"), None), n2=(g("post_attention_layernorm.weight"), None),
                gate=g("mlp.gate_proj.weight"), up=g("mlp.up_proj.weight"), down=g("mlp.down_proj.weight"),
                gateb=bias("mlp.gate_proj.bias", cfg["intermediate_size"]), upb=bias("mlp.up_proj.bias", cfg["intermediate_size"]),
                downb=bias("mlp.down_proj.bias", d)))
        return inputs, layers, (t["norm.weight"], None)
    if arch == "pythia":
        for l in range(L):
            g = lambda s: t[f"layers.{l}." + s]
            w = g("attention.query_key_value.weight").reshape(H, 3, dk, d)
            b = g("attention.query_key_value.bias").reshape(H, 3, dk)
            layers.append(dict(
                q=w[:, 0].reshape(d, d), k=w[:, 1].reshape(d, d), v=w[:, 2].reshape(d, d),
                qb=b[:, 0].reshape(d), kb=b[:, 1].reshape(d), vb=b[:, 2].reshape(d),
                o=g("attention.dense.weight"), ob=g("attention.dense.bias"),
                n1=(g("input_layernorm.weight"), g("input_layernorm.bias")),
                n2=(g("post_attention_layernorm.weight"), g("post_attention_layernorm.bias")),
                up=g("mlp.dense_h_to_4h.weight"), upb=g("mlp.dense_h_to_4h.bias"),
                down=g("mlp.dense_4h_to_h.weight"), downb=g("mlp.dense_4h_to_h.bias")))
        return inputs, layers, (t["final_layer_norm.weight"], t["final_layer_norm.bias"])
    raise ValueError(arch)


def block_settings(arch, cfg):
    """(norm position, norm fn builder, causal, rotary dims, theta, H, H_kv, activation, eps)."""
    d = cfg.get("hidden_size", cfg.get("n_embd"))
    H = cfg.get("num_attention_heads", cfg.get("n_head"))
    dk = d // H
    if arch in ("bert-base", "albert-base"):
        return dict(position="post", rms=False, causal=False, rot=0, theta=1, H=H, Hkv=H, act=cfg["hidden_act"], eps=cfg["layer_norm_eps"])
    if arch == "gpt2":
        return dict(position="pre", rms=False, causal=True, rot=0, theta=1, H=H, Hkv=H, act=cfg["activation_function"], eps=cfg["layer_norm_epsilon"])
    if arch == "llama":
        return dict(position="pre", rms=True, causal=True, rot=dk, theta=cfg["rope_theta"], H=H, Hkv=cfg["num_key_value_heads"],
                    act="swiglu", eps=cfg["rms_norm_eps"])
    if arch == "pythia":
        return dict(position="parallel", rms=False, causal=True, rot=int(round(cfg["rotary_pct"] * dk)), theta=cfg["rotary_emb_base"],
                    H=H, Hkv=H, act=cfg["hidden_act"], eps=cfg["layer_norm_eps"])


def rope(x, rot, theta):
    """rotate_half RoPE on the first `rot` dims of one head's rows (n × dk)."""
    if rot == 0:
        return x
    n = x.shape[0]
    half = rot // 2
    inv = theta ** (-np.arange(half) * 2.0 / rot)
    ang = np.arange(n)[:, None] * inv[None, :]
    c, s = np.cos(ang), np.sin(ang)
    out = x.copy()
    a, b = x[:, :half], x[:, half:rot]
    out[:, :half] = a * c - b * s
    out[:, half:rot] = b * c + a * s
    return out


def attention(x, w, s):
    n, d = x.shape
    H, Hkv = s["H"], s["Hkv"]
    dk = d // H
    q = x @ w["q"].T + w["qb"]
    k = x @ w["k"].T + w["kb"]
    v = x @ w["v"].T + w["vb"]
    context = np.zeros((n, d))
    heads = []
    for h in range(H):
        kvh = h // (H // Hkv)
        qh = rope(q[:, h * dk:(h + 1) * dk], s["rot"], s["theta"])
        kh = rope(k[:, kvh * dk:(kvh + 1) * dk], s["rot"], s["theta"])
        scores = qh @ kh.T / math.sqrt(dk)
        if s["causal"]:
            scores = np.where(np.tril(np.ones((n, n))) > 0, scores, -np.inf)
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        heads.append(p)
        context[:, h * dk:(h + 1) * dk] = p @ v[:, kvh * dk:(kvh + 1) * dk]
    return context @ w["o"].T + w["ob"], attention_statistics(heads)


def mlp(x, w, s):
    if s["act"] == "swiglu":
        hidden = act(x @ w["gate"].T + w["gateb"], "silu") * (x @ w["up"].T + w["upb"])
    else:
        hidden = act(x @ w["up"].T + w["upb"], s["act"])
    return hidden @ w["down"].T + w["downb"]


def parse_variant(name):
    parts = set(name.split("+"))
    pos = "post" if "ln" in parts else "pre" if "preln" in parts else "parallel" if "parln" in parts else None
    mlp_on = "mlp" in parts
    return dict(norm=pos, mlp=mlp_on, res_attn="res" in parts or "res-attn" in parts,
                res_mlp=("res" in parts and mlp_on) or "res-mlp" in parts)


def numpy_forward(x0, layers, final, s, variant):
    """States 0..L (with the final norm after the last layer of pre/parallel variants) and entropies."""
    v = parse_variant(variant)
    norm = (lambda x, p: rms_norm(x, p[0], s["eps"])) if s["rms"] else (lambda x, p: layer_norm(x, p[0], p[1], s["eps"]))
    x = x0
    states, entropies = [x0], [attention_statistics(None)]
    for w in layers:
        if v["norm"] == "parallel":
            a, e = attention(norm(x, w["n1"]), w, s)
            h = a
            if v["mlp"]:
                h = mlp(norm(x, w["n2"]), w, s) + a
            if v["res_attn"]:
                h = h + x
        else:
            a, e = attention(norm(x, w["n1"]) if v["norm"] == "pre" else x, w, s)
            h = a + x if v["res_attn"] else a
            if v["norm"] == "post":
                h = norm(h, w["n1"])
            if v["mlp"]:
                f = mlp(norm(h, w["n2"]) if v["norm"] == "pre" else h, w, s)
                h = f + h if v["res_mlp"] else f
                if v["norm"] == "post":
                    h = norm(h, w["n2"])
        x = h
        states.append(x)
        entropies.append(e)
    if final is not None and v["norm"] in ("pre", "parallel"):
        states[-1] = norm(states[-1], final)
    return states, entropies


# ---------------------------------------------------------------- Hugging Face

def hf_states(directory, inputs):
    import torch
    import transformers
    from transformers import AutoModel
    transformers.logging.set_verbosity_error()
    model = AutoModel.from_pretrained(directory, dtype=torch.float64, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        out = model(inputs_embeds=torch.tensor(inputs[None], dtype=torch.float64), output_hidden_states=True,
                    output_attentions=True)
    states = [h[0].numpy() for h in out.hidden_states]
    # HF versions differ on whether the last hidden state carries the final norm; last_hidden_state always does.
    states[-1] = out.last_hidden_state[0].numpy()
    entropies = [attention_statistics(None)] + [attention_statistics(a[0].numpy()) for a in out.attentions]
    return states, entropies, type(model).__name__


# ---------------------------------------------------------------- comparison

def comparable(metric, value, floor=1e-5):
    if metric in ("residual_ratio", "dong_ratio"):
        return max(value, floor)
    if metric == "log10_sigma_ratio":
        return max(value, -5.0)
    return value


def compare(tool_rows, reference, label, failures, tolerance=1e-4, floor=1e-5):
    worst = 0.0
    for layer, (tool, ref) in enumerate(zip(tool_rows, reference)):
        collapsed = ref["residual_ratio"] < 1e-4 or ref["log10_sigma_ratio"] < -4
        for m in ["rank", "affine_rank"]:
            if not collapsed and tool[m] != ref[m]:
                failures.append(f"{label} layer {layer} {m}: tool {tool[m]} vs {ref[m]}")
        for m in CONTINUOUS:
            a, b = tool.get(m), ref[m]
            if a is None or (isinstance(b, float) and math.isnan(b)):
                continue
            a, b = comparable(m, a, floor), comparable(m, b, floor)
            relative = abs(a - b) / max(abs(b), 1e-12)
            if m == "log10_sigma_ratio":
                relative = abs(a - b) / max(abs(b), 1.0)
            worst = max(worst, relative)
            if relative > tolerance:
                failures.append(f"{label} layer {layer} {m}: tool {a:.9g} vs {b:.9g} (relative {relative:.2e})")
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/mc-generic")
    parser.add_argument("--presets", default=",".join(SMALL))
    parser.add_argument("--sample", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seq-len", type=int, default=8)
    parser.add_argument("--no-hf", action="store_true", help="numpy only (no torch/transformers)")
    args = parser.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as work:
        for preset in args.presets.split(","):
            common = ["--architecture", preset, *SMALL[preset], "--seq-len", str(args.seq_len), "--seed", str(args.seed)]
            export_dir = os.path.join(work, preset + "-hf")
            subprocess.run([args.binary, "export", *common, "--sample", str(args.sample), "--output", export_dir],
                           check=True, stdout=subprocess.DEVNULL)
            run_dir = os.path.join(work, preset + "-run")
            subprocess.run([args.binary, *common, "--engine", "dense", "--input", "embeddings", "--attention-spectra", "--samples",
                            str(args.sample + 1), "--per-sample", "--quiet", "--output", run_dir],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            summary = json.load(open(os.path.join(run_dir, "summary.json")))
            unmodified = summary["config"]["unmodified_variant"]
            rows = {}
            import csv
            for r in csv.DictReader(open(os.path.join(run_dir, "samples.csv"))):
                if int(r["sample"]) != args.sample:
                    continue
                rows.setdefault(r["variant"], []).append({k: float(v) if v != "" else None for k, v in r.items()
                                                           if k not in ("sample", "window", "variant")})
            cfg = json.load(open(os.path.join(export_dir, "config.json")))
            cfg["_inputs"] = os.path.join(export_dir, "inputs.safetensors")
            tensors = read_safetensors(os.path.join(export_dir, "model.safetensors"))
            x0, layers, final = canonical(preset, cfg, tensors)
            settings = block_settings(preset, cfg)
            report = [preset]
            numpy_unmodified = None
            for variant, tool_rows in rows.items():
                states, entropies = numpy_forward(x0, layers, final, settings, variant)
                if variant == unmodified:
                    numpy_unmodified = states
                reference = [metrics(x, e) for x, e in zip(states, entropies)]
                worst = compare(tool_rows, reference, f"{preset} {variant} (numpy)", failures)
                report.append(f"{variant} vs numpy {worst:.1e}")
            if not args.no_hf:
                inputs = read_safetensors(cfg["_inputs"])["inputs_embeds"][0]
                states, entropies, model_class = hf_states(export_dir, inputs)
                reference = [metrics(x, e) for x, e in zip(states, entropies)]
                worst = compare(rows[unmodified], reference, f"{preset} {unmodified} (HF {model_class})", failures)
                state_error = max(np.abs(a - b).max() / np.abs(b).max() for a, b in zip(numpy_unmodified, states))
                # HF rounds RoPE's inverse frequencies to Float32 (θ^(-2j/r) in float32 before the
                # model's dtype applies): states of RoPE models differ by ~1e-7 relative, others by ~1e-16.
                if state_error > (1e-6 if preset in ("llama", "pythia") else 1e-12):
                    failures.append(f"{preset}: numpy's unmodified states differ from HF's by {state_error:.1e} relative")
                report.append(f"{unmodified} vs HF {model_class} {worst:.1e}; numpy states vs HF {state_error:.1e}")
            print("hf-architectures: " + "; ".join(report), flush=True)
    if failures:
        print(f"hf-architectures: FAIL ({len(failures)}):", *failures[:40], sep="\n  ")
        sys.exit(1)
    print("hf-architectures: every metric of every layer agrees (unmodified vs HF, surgeries vs numpy)")


if __name__ == "__main__":
    main()
