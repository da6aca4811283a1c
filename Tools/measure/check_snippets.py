#!/usr/bin/env python3
"""Runs the README's TransformerLens and nnsight snippets ("Measure your own model") offline,
on a tiny random GPT-2 saved by HF transformers, and checks that the states they save are HF's
`output_hidden_states` (the last one before ln_f) and that `mc-generic measure` reads them.

Not in CI (TransformerLens and nnsight are large installs); run by hand:

    pip install transformer_lens nnsight     # checked with transformer-lens 4.3.0, nnsight 0.8.1
    python3 Tools/measure/check_snippets.py .build/release/mc-generic
"""
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, models
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

BIN = sys.argv[1] if len(sys.argv) > 1 else ".build/release/mc-generic"


def check(name, states, reference, final_norm, work):
    for l, (a, b) in enumerate(zip(states, reference)):
        a = final_norm(a) if l == len(states) - 1 else a
        error = float((a - b).abs().max())
        if error > 1e-5:
            sys.exit(f"check_snippets: {name}: state {l} differs from HF's by {error}")
    path = f"{work}/{name}.safetensors"
    save_file({f"hidden_states.{l}": s.detach().float().contiguous() for l, s in enumerate(states)}, path,
              metadata={"model": "tiny-gpt2", "final_norm_applied": "false"})
    result = subprocess.run([BIN, "measure", path, "--output", f"{work}/{name}", "--quiet"], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"check_snippets: measure of the {name} export: {result.stderr}")
    print(f"check_snippets: {name}: {len(states)} states equal HF's hidden states (the last before ln_f); measure reads them")


def main():
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as work:
        GPT2LMHeadModel(GPT2Config(n_embd=64, n_layer=3, n_head=4, n_positions=32, vocab_size=100, bos_token_id=0, eos_token_id=0)).save_pretrained(f"{work}/tiny")
        hf = GPT2LMHeadModel.from_pretrained(f"{work}/tiny").eval()
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({str(i): i for i in range(100)}, unk_token="0")))
        tokens = torch.randint(0, 100, (5, 16))
        with torch.no_grad():
            reference = hf.transformer(tokens, output_hidden_states=True).hidden_states

        from transformer_lens.model_bridge import TransformerBridge
        # The README boots by Hub name; offline, the same bridge over the local model.
        model = TransformerBridge.boot_transformers(f"{work}/tiny", tokenizer=tokenizer, hf_model=hf)
        _, cache = model.run_with_cache(tokens)
        states = [cache["blocks.0.hook_resid_pre"]] + [cache[f"blocks.{l}.hook_resid_post"] for l in range(model.cfg.n_layers)]
        check("transformer_lens", states, reference, hf.transformer.ln_f, work)

        from nnsight import LanguageModel
        model = LanguageModel(hf, tokenizer=tokenizer)
        states = []
        with model.trace(tokens):
            states.append(model.transformer.drop.output.save())
            for block in model.transformer.h:
                output = block.output
                states.append((output[0] if isinstance(output, tuple) else output).save())
        check("nnsight", states, reference, hf.transformer.ln_f, work)


if __name__ == "__main__":
    main()
