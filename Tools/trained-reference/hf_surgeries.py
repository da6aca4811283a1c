#!/usr/bin/env python3
"""Dong et al.'s four surgeries written with HF transformers' own BertModel modules.

  hf_surgeries.py --model DIR --text FILE --check
      runs HF BertModel (Float64, eval mode) and the surgeries built from its
      modules on the text windows, and compares every hidden state with
      bert_reference.py's numpy forward pass (the check that the numpy
      reference is HF's BERT); prints the largest relative difference.
  hf_surgeries.py --model DIR --text FILE --time --threads 2
      times one sample (the four surgeries at Float32, hidden states 0..L, and
      the singular values of every state, as mc-generic measures them) and
      prints JSON {"seconds_per_sample": ..., "forward_seconds": ...}; used
      by kernel-compare --kernel checkpoint.

Needs torch and transformers (not needed by CI).
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
import torch
from transformers import BertModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_reference  # noqa: E402

SURGERIES = {  # attention residual, mlp, mlp residual (all post-LN)
    "attn+ln": (False, False, False),
    "attn+ln+mlp+res-mlp": (False, True, True),
    "attn+res+ln": (True, False, False),
    "attn+res+ln+mlp": (True, True, True),
}


def surgeries(model, ids):
    """Hidden states 0..L of each surgery, from HF's modules."""
    input_ids = torch.tensor([ids])
    x0 = model.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
    out = {}
    for name, (attn_res, mlp, mlp_res) in SURGERIES.items():
        x = x0
        states = [x0[0]]
        for layer in model.encoder.layer:
            context = layer.attention.self(x)[0]
            a = layer.attention.output.dense(context)
            h = layer.attention.output.LayerNorm(a + x if attn_res else a)
            if mlp:
                f = layer.output.dense(layer.intermediate(h))
                h = layer.output.LayerNorm(f + h if mlp_res else f)
            x = h
            states.append(x[0])
        out[name] = states
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--text", required=True)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--time", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    windows = bert_reference.windows(args.model, args.text, args.seq_len)
    model = BertModel.from_pretrained(args.model, add_pooling_layer=False, attn_implementation="eager").eval()
    if args.check:
        model = model.double()
        with open(f"{args.model}/config.json") as f:
            config = json.load(f)
        tensors = bert_reference.read_safetensors(f"{args.model}/model.safetensors")
        worst = 0.0
        with torch.no_grad():
            for ids in windows[:8]:
                hf = surgeries(model, ids)
                full = model(torch.tensor([ids]), output_hidden_states=True).hidden_states
                for layer, state in enumerate(full):  # the unmodified model through HF's own forward
                    diff = (state[0] - hf["attn+res+ln+mlp"][layer]).abs().max() / state.abs().max()
                    worst = max(worst, float(diff))
                mine = bert_reference.forward_states(ids, tensors, config)
                for name, states in hf.items():
                    for layer, state in enumerate(states):
                        reference = mine[name][layer]
                        diff = np.abs(state.numpy() - reference).max() / np.abs(reference).max()
                        worst = max(worst, float(diff))
        print(f"hf_surgeries: HF BertModel (Float64) vs bert_reference.py on {min(8, len(windows))} windows, "
              f"4 surgeries, states 0..{len(full) - 1}: largest relative difference {worst:.2e}")
        if worst > 1e-10:
            sys.exit("hf_surgeries: the numpy reference does not reproduce HF's BERT")
    if args.time:
        ids = windows[0]

        def sample(with_metrics):
            with torch.no_grad():
                states = surgeries(model, ids)
                if with_metrics:
                    for name in states:
                        for s in states[name]:
                            torch.linalg.svdvals(s.double())
                            torch.linalg.svdvals((s - s.mean(0)).double())

        for with_metrics in (True, False):
            sample(with_metrics)
        best, best_forward = float("inf"), float("inf")
        for _ in range(args.repeats):
            t = time.perf_counter(); sample(True); best = min(best, time.perf_counter() - t)
            t = time.perf_counter(); sample(False); best_forward = min(best_forward, time.perf_counter() - t)
        print(json.dumps({"seconds_per_sample": best, "forward_seconds": best_forward, "threads": args.threads,
                          "torch": torch.__version__}))


if __name__ == "__main__":
    main()
