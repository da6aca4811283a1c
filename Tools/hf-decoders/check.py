#!/usr/bin/env python3
"""mc-generic --model on Hugging Face directories of gpt2, llama, gpt_neox and albert, and on GGUF files.

For each family, a tiny random model is made by HF transformers (`from_config`, every parameter then
moved off its initial value so that biases and norm parameters are not 0 and 1) and saved with
`save_pretrained` (safetensors, F32; llama saved with its LM head, so its names carry `model.` and
an `lm_head` the tool must leave out; gpt_neox in two shards with an index). Then:
  1. `mc-generic --model DIR --token-ids FILE --per-sample` runs Dong's four surgeries;
  2. HF's own class (AutoModel, Float64, eager attention) runs the same ids with
     output_hidden_states/output_attentions: the tool's unmodified variant must match every metric
     of every layer (Tools/hf-architectures/check.py's tolerances, 1e-4 relative);
  3. that script's independent numpy Float64 pass runs every surgery from the saved tensors
     (surgeries to 1e-4; numpy's unmodified states against HF's);
  4. gpt2 and llama are also written as GGUF files by gguf-py's writer, in llama.cpp's layout
     (GPT-2's fused QKV as rows, Llama's Q/K rows permuted for its RoPE): the GGUF runs must equal
     the safetensors runs in every number, with --perturb as without (the perturbation is drawn in
     the held layout, so both files of one model get the same noise);
  5. --perturb 0 equals no perturbation; --perturb 0.05 changes the states and is reproducible.

    check.py --binary .build/release/mc-generic [--families gpt2,llama,gpt_neox,albert]
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hf-architectures"))
import check as arch  # noqa: E402

PRESET = {"gpt2": "gpt2", "llama": "llama", "gpt_neox": "pythia", "albert": "albert-base"}
VOCABULARY, SEQ_LEN, WINDOWS = 96, 12, 3


def make_model(family, directory, seed):
    """A tiny random HF model of `family`, parameters perturbed off their init, saved in F32."""
    import torch
    import transformers as t
    torch.manual_seed(seed)
    if family == "gpt2":
        config = t.GPT2Config(vocab_size=VOCABULARY, n_positions=32, n_embd=32, n_layer=3, n_head=4, n_inner=64,
                              resid_pdrop=0, embd_pdrop=0, attn_pdrop=0)
        model = t.GPT2Model(config)
    elif family == "llama":
        config = t.LlamaConfig(vocab_size=VOCABULARY, hidden_size=32, intermediate_size=48, num_hidden_layers=3,
                               num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, rope_theta=5000.0,
                               rms_norm_eps=1e-6, tie_word_embeddings=False)
        model = t.LlamaForCausalLM(config)
    elif family == "gpt_neox":
        config = t.GPTNeoXConfig(vocab_size=VOCABULARY, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                 num_attention_heads=4, rotary_pct=0.5, max_position_embeddings=64, hidden_dropout=0,
                                 attention_dropout=0)
        model = t.GPTNeoXModel(config)
    else:
        config = t.AlbertConfig(vocab_size=VOCABULARY, embedding_size=16, hidden_size=32, num_hidden_layers=4,
                                num_hidden_groups=2, num_attention_heads=4, intermediate_size=64, max_position_embeddings=32,
                                hidden_dropout_prob=0, attention_probs_dropout_prob=0)
        model = t.AlbertModel(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(torch.randn_like(p) * (0.1 if p.dim() == 1 else 0.05))
    kwargs = {"max_shard_size": "40KB"} if family == "gpt_neox" else {}
    model.save_pretrained(directory, safe_serialization=True, **kwargs)
    return model


def read_tensors(directory):
    """Every tensor of the directory's safetensors files, Float64, names without a model-with-head prefix."""
    from safetensors.numpy import load_file
    tensors = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".safetensors"):
            tensors.update({k: v.astype(np.float64) for k, v in load_file(os.path.join(directory, name)).items()})
    for prefix in ("model.", "transformer.", "gpt_neox.", "albert."):
        if any(k.startswith(prefix) for k in tensors):
            tensors = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    return tensors


def reference_config(model):
    """config.json's fields as check.py's canonical() and block_settings() read them."""
    cfg = model.config.to_dict()
    rope = cfg.get("rope_parameters") or {}
    cfg.setdefault("rope_theta", rope.get("rope_theta", 10000.0))
    if cfg.get("rope_theta") is None:
        cfg["rope_theta"] = rope.get("rope_theta", 10000.0)
    if cfg.get("rotary_pct") is None:
        cfg["rotary_pct"] = rope.get("partial_rotary_factor", 0.25)
    if cfg.get("rotary_emb_base") is None:
        cfg["rotary_emb_base"] = rope.get("rope_theta", 10000.0)
    return cfg


def write_gguf(family, tensors, cfg, path):
    """The model as llama.cpp's converter lays it out, F32 tensors."""
    import gguf
    writer = gguf.GGUFWriter(path, family)
    writer.add_name(f"tiny-{family}")
    L = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)
    if family == "gpt2":
        d = cfg["n_embd"]
        writer.add_block_count(L); writer.add_context_length(cfg["n_positions"]); writer.add_embedding_length(d)
        writer.add_feed_forward_length(cfg["n_inner"]); writer.add_head_count(cfg["n_head"])
        writer.add_layer_norm_eps(cfg["layer_norm_epsilon"])
        writer.add_tensor("token_embd.weight", f32(tensors["wte.weight"]))
        writer.add_tensor("position_embd.weight", f32(tensors["wpe.weight"]))
        for l in range(L):
            g = lambda s: tensors[f"h.{l}.{s}"]
            b = f"blk.{l}."
            writer.add_tensor(b + "attn_norm.weight", f32(g("ln_1.weight"))); writer.add_tensor(b + "attn_norm.bias", f32(g("ln_1.bias")))
            # The converter transposes Conv1D [in, out] to nn.Linear rows [out, in].
            writer.add_tensor(b + "attn_qkv.weight", f32(g("attn.c_attn.weight").T)); writer.add_tensor(b + "attn_qkv.bias", f32(g("attn.c_attn.bias")))
            writer.add_tensor(b + "attn_output.weight", f32(g("attn.c_proj.weight").T)); writer.add_tensor(b + "attn_output.bias", f32(g("attn.c_proj.bias")))
            writer.add_tensor(b + "ffn_norm.weight", f32(g("ln_2.weight"))); writer.add_tensor(b + "ffn_norm.bias", f32(g("ln_2.bias")))
            writer.add_tensor(b + "ffn_up.weight", f32(g("mlp.c_fc.weight").T)); writer.add_tensor(b + "ffn_up.bias", f32(g("mlp.c_fc.bias")))
            writer.add_tensor(b + "ffn_down.weight", f32(g("mlp.c_proj.weight").T)); writer.add_tensor(b + "ffn_down.bias", f32(g("mlp.c_proj.bias")))
        writer.add_tensor("output_norm.weight", f32(tensors["ln_f.weight"])); writer.add_tensor("output_norm.bias", f32(tensors["ln_f.bias"]))
    else:
        d, H, Hkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        writer.add_block_count(L); writer.add_context_length(cfg["max_position_embeddings"]); writer.add_embedding_length(d)
        writer.add_feed_forward_length(cfg["intermediate_size"]); writer.add_head_count(H); writer.add_head_count_kv(Hkv)
        writer.add_layer_norm_rms_eps(cfg["rms_norm_eps"]); writer.add_rope_freq_base(cfg["rope_theta"])
        writer.add_rope_dimension_count(d // H)

        def permute(w, heads):
            # llama.cpp's convert_hf_to_gguf: rows of each head reordered for its adjacent-pair RoPE.
            return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
        writer.add_tensor("token_embd.weight", f32(tensors["embed_tokens.weight"]))
        for l in range(L):
            g = lambda s: tensors[f"layers.{l}.{s}"]
            b = f"blk.{l}."
            writer.add_tensor(b + "attn_norm.weight", f32(g("input_layernorm.weight")))
            writer.add_tensor(b + "attn_q.weight", f32(permute(g("self_attn.q_proj.weight"), H)))
            writer.add_tensor(b + "attn_k.weight", f32(permute(g("self_attn.k_proj.weight"), Hkv)))
            writer.add_tensor(b + "attn_v.weight", f32(g("self_attn.v_proj.weight")))
            writer.add_tensor(b + "attn_output.weight", f32(g("self_attn.o_proj.weight")))
            writer.add_tensor(b + "ffn_norm.weight", f32(g("post_attention_layernorm.weight")))
            writer.add_tensor(b + "ffn_gate.weight", f32(g("mlp.gate_proj.weight")))
            writer.add_tensor(b + "ffn_up.weight", f32(g("mlp.up_proj.weight")))
            writer.add_tensor(b + "ffn_down.weight", f32(g("mlp.down_proj.weight")))
        writer.add_tensor("output_norm.weight", f32(tensors["norm.weight"]))
        writer.add_tensor("output.weight", f32(tensors["lm_head.weight"] if "lm_head.weight" in tensors else tensors["embed_tokens.weight"]))
    writer.write_header_to_file(); writer.write_kv_data_to_file(); writer.write_tensors_to_file(); writer.close()


def run_tool(binary, model, token_file, output, *extra):
    result = subprocess.run([binary, "--model", model, "--token-ids", token_file, "--seq-len", str(SEQ_LEN), "--samples",
                             str(WINDOWS), "--per-sample", "--attention-spectra", "--quiet", "--output", output, *extra],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"hf-decoders: mc-generic --model {model} failed: {result.stderr.strip()}")
    rows = {}
    for r in csv.DictReader(open(os.path.join(output, "samples.csv"))):
        rows.setdefault((int(r["sample"]), r["variant"]), []).append(
            {k: float(v) if v != "" else None for k, v in r.items() if k not in ("sample", "window", "variant")})
    return rows, json.load(open(os.path.join(output, "summary.json"))), result.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/mc-generic")
    parser.add_argument("--families", default="gpt2,llama,gpt_neox,albert")
    args = parser.parse_args()
    import torch
    import transformers
    from transformers import AutoModel
    transformers.logging.set_verbosity_error()
    failures = []
    rng = np.random.default_rng(11)
    with tempfile.TemporaryDirectory() as work:
        windows = [list(map(int, rng.choice(VOCABULARY, SEQ_LEN, replace=False))) for _ in range(WINDOWS)]
        token_file = os.path.join(work, "windows.jsonl")
        with open(token_file, "w") as f:
            f.writelines(json.dumps(w) + "\n" for w in windows)
        for index, family in enumerate(args.families.split(",")):
            directory = os.path.join(work, family)
            make_model(family, directory, seed=100 + index)
            rows, summary, stderr = run_tool(args.binary, directory, token_file, os.path.join(work, family + "-run"))
            if "not used" in stderr:
                failures.append(f"{family}: the tool warned of unused tensors: {stderr.strip()}")
            unmodified = summary["config"]["unmodified_variant"]
            hf = AutoModel.from_pretrained(directory, dtype=torch.float64, attn_implementation="eager").eval()
            cfg = reference_config(hf)
            tensors = read_tensors(directory)
            settings = arch.block_settings(PRESET[family], cfg)
            word_table = tensors["embeddings.word_embeddings.weight" if family == "albert" else
                                 {"gpt2": "wte.weight", "llama": "embed_tokens.weight", "gpt_neox": "embed_in.weight"}[family]]
            worst_hf = worst_numpy = worst_states = 0.0
            for s, window in enumerate(windows):
                with torch.no_grad():
                    out = hf(input_ids=torch.tensor([window]), output_hidden_states=True, output_attentions=True)
                states = [h[0].numpy() for h in out.hidden_states]
                states[-1] = out.last_hidden_state[0].numpy()
                attentions = [arch.attention_statistics(None)] + [arch.attention_statistics(a[0].numpy()) for a in out.attentions]
                reference = [arch.metrics(x, a) for x, a in zip(states, attentions)]
                worst_hf = max(worst_hf, arch.compare(rows[(s, unmodified)], reference, f"{family} window {s} {unmodified} (HF)", failures))
                from safetensors.numpy import save_file
                save_file({"inputs_embeds": word_table[window][None].astype(np.float32)}, os.path.join(work, "inputs.safetensors"))
                cfg["_inputs"] = os.path.join(work, "inputs.safetensors")
                x0, layers, final = arch.canonical(PRESET[family], cfg, tensors)
                if family in ("llama", "gpt_neox"):
                    x0 = word_table[window]  # Float64 rows, not the Float32 copy written for canonical()
                elif family == "gpt2":
                    x0 = word_table[window] + tensors["wpe.weight"][:SEQ_LEN]
                for (sample, variant), tool_rows in rows.items():
                    if sample != s:
                        continue
                    numpy_states, numpy_attention = arch.numpy_forward(x0, layers, final, settings, variant)
                    ref = [arch.metrics(x, a) for x, a in zip(numpy_states, numpy_attention)]
                    worst_numpy = max(worst_numpy, arch.compare(tool_rows, ref, f"{family} window {s} {variant} (numpy)", failures))
                    if variant == unmodified:
                        worst_states = max(worst_states, max(np.abs(a - b).max() / np.abs(b).max() for a, b in zip(numpy_states, states)))
            if worst_states > 1e-5:
                failures.append(f"{family}: numpy's unmodified states differ from HF's by {worst_states:.1e} relative")
            report = (f"{family} ({type(hf).__name__}): unmodified vs HF {worst_hf:.1e}, surgeries vs numpy {worst_numpy:.1e}, "
                      f"numpy states vs HF {worst_states:.1e}")
            # Perturbation: 0 is the checkpoint itself; 0.05 changes the states, the same on a second run.
            same, _, _ = run_tool(args.binary, directory, token_file, os.path.join(work, family + "-p0"), "--perturb", "0")
            perturbed, _, _ = run_tool(args.binary, directory, token_file, os.path.join(work, family + "-p1"), "--perturb", "0.05")
            again, _, _ = run_tool(args.binary, directory, token_file, os.path.join(work, family + "-p2"), "--perturb", "0.05")
            if same != rows:
                failures.append(f"{family}: --perturb 0 differs from the checkpoint itself")
            if perturbed == rows or perturbed != again:
                failures.append(f"{family}: --perturb 0.05 left the states unchanged or is not reproducible")
            if family in ("gpt2", "llama"):
                gguf_file = os.path.join(work, family + ".gguf")
                write_gguf(family, read_tensors_with_head(directory), cfg, gguf_file)
                from_gguf, _, gguf_stderr = run_tool(args.binary, gguf_file, token_file, os.path.join(work, family + "-gguf"))
                gguf_perturbed, _, _ = run_tool(args.binary, gguf_file, token_file, os.path.join(work, family + "-gguf-p"), "--perturb", "0.05")
                if from_gguf != rows or gguf_perturbed != perturbed:
                    failures.append(f"{family}: the GGUF file's run differs from the safetensors run "
                                    f"({'perturbed' if from_gguf == rows else 'unperturbed'})")
                if "not used" in gguf_stderr:
                    failures.append(f"{family} GGUF: the tool warned of unused tensors: {gguf_stderr.strip()}")
                report += "; GGUF run identical" if from_gguf == rows and gguf_perturbed == perturbed else "; GGUF run DIFFERS"
            if family in ("gpt2", "albert"):
                # The claims report on the model: claims 1-3 beside the preset's initialisation, Figure 2 attached.
                claims_dir = os.path.join(work, family + "-claims")
                result = subprocess.run([args.binary, "claims", "--model", directory, "--token-ids", token_file, "--seq-len",
                                         str(SEQ_LEN), "--output", claims_dir], capture_output=True, text=True)
                text = open(os.path.join(claims_dir, "report.md")).read() if result.returncode == 0 else ""
                if result.returncode != 0 or "## 3. Residual connections" not in text or not os.path.exists(os.path.join(claims_dir, "dong-figure2.svg")):
                    failures.append(f"{family}: claims --model failed or wrote no claim 3 and figure: {result.stderr.strip()[-300:]!r}")
                refused = subprocess.run([args.binary, "claims", "--model", directory, "--only", "5", "--output", claims_dir + "-5"],
                                         capture_output=True, text=True)
                if refused.returncode == 0 or "claims 5 are not run" not in refused.stderr:
                    failures.append(f"{family}: claims --only 5 was not refused: {refused.stderr.strip()!r}")
                report += "; claims report written"
            print("hf-decoders: " + report, flush=True)
        # Bad input: one line naming the file and values, a non-zero exit, nothing written.
        bad = os.path.join(work, "bad")
        os.makedirs(bad)
        json.dump({"model_type": "mamba"}, open(os.path.join(bad, "config.json"), "w"))
        # GGUF files that are wrong in one way each, written by gguf-py.
        import gguf
        def tiny_gguf(path, architecture="llama", drop=None, reshape=None):
            writer = gguf.GGUFWriter(path, architecture)
            writer.add_block_count(1); writer.add_context_length(16); writer.add_embedding_length(8)
            writer.add_feed_forward_length(12); writer.add_head_count(2); writer.add_head_count_kv(2)
            writer.add_layer_norm_rms_eps(1e-6); writer.add_rope_freq_base(10000.0)
            shapes = {"token_embd.weight": (20, 8), "output_norm.weight": (8,), "blk.0.attn_norm.weight": (8,),
                      "blk.0.ffn_norm.weight": (8,), "blk.0.attn_q.weight": (8, 8), "blk.0.attn_k.weight": (8, 8),
                      "blk.0.attn_v.weight": (8, 8), "blk.0.attn_output.weight": (8, 8), "blk.0.ffn_gate.weight": (12, 8),
                      "blk.0.ffn_up.weight": (12, 8), "blk.0.ffn_down.weight": (8, 12)}
            for name, shape in shapes.items():
                if name != drop:
                    writer.add_tensor(name, np.ones((reshape or {}).get(name, shape), dtype=np.float32))
            writer.write_header_to_file(); writer.write_kv_data_to_file(); writer.write_tensors_to_file(); writer.close()
            return path
        not_gguf = os.path.join(work, "not.gguf")
        with open(not_gguf, "w") as f:
            f.write("this is text, not a model\n" * 4)
        truncated = os.path.join(work, "truncated.gguf")
        with open(tiny_gguf(os.path.join(work, "whole.gguf")), "rb") as f:
            whole = f.read()
        with open(truncated, "wb") as f:
            f.write(whole[:len(whole) - 100])
        cases = [
            (bad, "model_type 'mamba' is not supported"),
            (not_gguf, "not a GGUF file (magic"),
            (truncated, "truncated.gguf"),
            (tiny_gguf(os.path.join(work, "mamba.gguf"), architecture="mamba"), "GGUF architecture 'mamba' is not supported (supported: gpt2, llama"),
            (tiny_gguf(os.path.join(work, "missing.gguf"), drop="blk.0.ffn_up.weight"), "tensor 'blk.0.ffn_up.weight' missing"),
            (tiny_gguf(os.path.join(work, "shape.gguf"), reshape={"blk.0.ffn_down.weight": (12, 8)}),
             "tensor 'blk.0.ffn_down.weight' has dimensions [8, 12], expected [12, 8] from the metadata"),
        ]
        if subprocess.run([args.binary, "--model", os.path.join(work, "whole.gguf"), "--samples", "1", "--seq-len", "4", "--output",
                           os.path.join(work, "whole-run")], capture_output=True).returncode != 0:
            failures.append("the well-formed tiny GGUF (the bad-input cases' base) does not run")
        for model, expected in cases:
            out = os.path.join(work, "refused")
            result = subprocess.run([args.binary, "--model", model, "--samples", "1", "--output", out], capture_output=True, text=True)
            lines = [l for l in result.stderr.splitlines() if l.strip()]
            if result.returncode == 0 or expected not in result.stderr or len(lines) > 1 or os.path.exists(os.path.join(out, "state.json")):
                failures.append(f"bad input {model}: exit {result.returncode}, stderr {result.stderr.strip()!r}")
    if failures:
        print(f"hf-decoders: FAIL ({len(failures)}):", *failures[:40], sep="\n  ")
        sys.exit(1)
    print("hf-decoders: every family agrees with HF and numpy on every metric of every layer")


def read_tensors_with_head(directory):
    """read_tensors, plus the LM head a model with one saved (GGUF's output.weight)."""
    from safetensors.numpy import load_file
    tensors = read_tensors(directory)
    for name in sorted(os.listdir(directory)):
        if name.endswith(".safetensors"):
            head = load_file(os.path.join(directory, name)).get("lm_head.weight")
            if head is not None:
                tensors["lm_head.weight"] = head.astype(np.float64)
    return tensors


if __name__ == "__main__":
    main()
