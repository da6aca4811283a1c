#!/usr/bin/env python3
"""Export a Hugging Face model's hidden states for `mc-generic measure`.

Runs any `AutoModel` with `output_hidden_states=True` on windows of a text or
on given token ids and writes the states in the layout `measure` reads:
safetensors files PREFIX-00000.safetensors, PREFIX-00001.safetensors, … of
at most --sequences-per-file sequences each, holding

  hidden_states.0 … hidden_states.L   [sequences, n, d]   (--layout per-layer, the default)
  hidden_states                       [L+1, sequences, n, d]   (--layout stacked)
  attention_mask                      [sequences, n]  int64, when --token-ids lines are shorter than n
  input_ids                           [sequences, n]  int64 (ignored by measure, kept for the record)

and `__metadata__` {model, embeddings_index: "0", final_norm_applied, seq_len,
source}. State 0 is the embedding layer's output; the last state is HF's last
hidden state (after the final norm in GPT-2/Llama/NeoX-style models).

    export-hidden-states.py --model sentence-transformers/all-MiniLM-L6-v2 --text FILE --seq-len 128 --output out/minilm
    export-hidden-states.py --model DIR --token-ids ids.jsonl --seq-len 128 --output out/states --dtype float16
    mc-generic measure out/minilm-*.safetensors --output results

Text windows: the text is tokenized without special tokens and cut into
consecutive windows of n minus the tokenizer's special tokens, each wrapped
with them (BERT: [CLS] … [SEP], as `mc-generic --model --text` does; GPT-2:
none); the last partial window is dropped. --token-ids: one JSON array of ids
per line, used as given; lines shorter than --seq-len are padded on the right
and masked (longer ones are an error).

Needs torch, transformers and safetensors. Runs in Float32 (`--torch-dtype`
changes it) on the CPU unless --device says otherwise.
"""
import argparse
import json
import os
import sys

FINAL_NORM = {"gpt2", "llama", "gpt_neox", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "phi", "phi3", "olmo", "opt", "gpt_neo", "gptj", "falcon", "bloom", "mixtral"}
POST_NORM = {"bert", "albert", "roberta", "distilbert", "electra", "xlm-roberta", "camembert", "mpnet", "deberta", "deberta-v2"}


def fail(message):
    print(f"export-hidden-states: {message}", file=sys.stderr)
    sys.exit(2)


def windows_from_text(tokenizer, path, n, limit):
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as error:
        fail(f"--text {path}: {error.strerror}")
    except UnicodeDecodeError:
        fail(f"--text {path}: not UTF-8")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    special = tokenizer.num_special_tokens_to_add(pair=False)
    body = n - special
    if body < 1:
        fail(f"--seq-len {n} leaves no room beside the tokenizer's {special} special tokens")
    windows = []
    for start in range(0, len(ids) - body + 1, body):
        windows.append(tokenizer.build_inputs_with_special_tokens(ids[start:start + body]))
        if limit and len(windows) == limit:
            break
    if not windows:
        fail(f"--text {path}: {len(ids)} tokens, fewer than one window of {body}")
    assert all(len(w) == n for w in windows)
    return windows


def windows_from_ids(path, n, limit, vocabulary):
    windows = []
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as error:
        fail(f"--token-ids {path}: {error.strerror}")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            ids = json.loads(line)
        except json.JSONDecodeError:
            fail(f"--token-ids {path}: line {number} is not JSON")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            fail(f"--token-ids {path}: line {number} is not a non-empty array of integers")
        if len(ids) > n:
            fail(f"--token-ids {path}: line {number} has {len(ids)} ids, more than --seq-len {n}")
        bad = [i for i in ids if not 0 <= i < vocabulary]
        if bad:
            fail(f"--token-ids {path}: line {number} holds {bad[0]}, not an id in 0..{vocabulary - 1}")
        windows.append(ids)
        if limit and len(windows) == limit:
            break
    if not windows:
        fail(f"--token-ids {path}: no windows")
    return windows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a Hub name or a local directory (AutoModel)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="a UTF-8 text file, cut into windows")
    source.add_argument("--token-ids", help="JSON lines of token ids")
    parser.add_argument("--seq-len", type=int, required=True, help="tokens per sequence n")
    parser.add_argument("--windows", type=int, default=0, help="at most this many sequences (default: all)")
    parser.add_argument("--output", required=True, help="path prefix of the files (PREFIX-00000.safetensors, …)")
    parser.add_argument("--sequences-per-file", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--dtype", choices=["float32", "float16", "bfloat16", "float64"], default="float32", help="stored element type")
    parser.add_argument("--torch-dtype", choices=["float32", "float64", "bfloat16", "float16"], default="float32", help="dtype the model runs in")
    parser.add_argument("--layout", choices=["per-layer", "stacked"], default="per-layer")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.seq_len < 2:
        fail(f"--seq-len must be at least 2, got {args.seq_len}")
    if args.sequences_per_file < 1 or args.batch < 1:
        fail("--sequences-per-file and --batch must be positive")

    import torch
    from safetensors.torch import save_file
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    config = AutoConfig.from_pretrained(args.model)
    model = AutoModel.from_pretrained(args.model, torch_dtype=getattr(torch, args.torch_dtype)).to(args.device).eval()
    n = args.seq_len
    if args.text:
        windows = windows_from_text(AutoTokenizer.from_pretrained(args.model), args.text, n, args.windows)
    else:
        windows = windows_from_ids(args.token_ids, n, args.windows, config.vocab_size)
    padded = any(len(w) < n for w in windows)
    pad = config.pad_token_id if getattr(config, "pad_token_id", None) is not None else 0
    ids = torch.tensor([w + [pad] * (n - len(w)) for w in windows], dtype=torch.int64)
    mask = torch.tensor([[1] * len(w) + [0] * (n - len(w)) for w in windows], dtype=torch.int64)
    model_type = getattr(config, "model_type", "")
    final_norm = "true" if model_type in FINAL_NORM else "false" if model_type in POST_NORM else "unknown"
    metadata = {
        "model": getattr(config, "_name_or_path", None) or args.model,
        "model_type": model_type,
        "embeddings_index": "0",
        "final_norm_applied": final_norm,
        "seq_len": str(n),
        "source": os.path.basename(args.text or args.token_ids),
        "exporter": "Tools/export-hidden-states.py",
    }
    store = getattr(torch, args.dtype)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    paths = [f"{args.output}-{k:05d}.safetensors" for k in range((len(windows) + args.sequences_per_file - 1) // args.sequences_per_file)]
    existing = [p for p in paths if os.path.exists(p)]
    if existing:
        fail(f"{existing[0]} exists; choose another --output prefix (nothing is overwritten)")
    written = []
    for file_index, first in enumerate(range(0, len(windows), args.sequences_per_file)):
        last = min(len(windows), first + args.sequences_per_file)
        per_state = None
        for start in range(first, last, args.batch):
            stop = min(last, start + args.batch)
            with torch.no_grad():
                out = model(input_ids=ids[start:stop].to(args.device), attention_mask=mask[start:stop].to(args.device), output_hidden_states=True)
            states = [h.detach().to("cpu", store) for h in out.hidden_states]
            per_state = [[s] for s in states] if per_state is None else [acc + [s] for acc, s in zip(per_state, states)]
        stacked = [torch.cat(chunks) for chunks in per_state]
        tensors = {"input_ids": ids[first:last].contiguous()}
        if padded:
            tensors["attention_mask"] = mask[first:last].contiguous()
        if args.layout == "stacked":
            tensors["hidden_states"] = torch.stack(stacked).contiguous()
        else:
            for l, state in enumerate(stacked):
                tensors[f"hidden_states.{l}"] = state.contiguous()
        path = paths[file_index]
        save_file(tensors, path, metadata=metadata)
        written.append(path)
        print(f"export-hidden-states: {path}: {last - first} sequences, {len(stacked)} states of [{n}, {stacked[0].shape[-1]}] {args.dtype}", file=sys.stderr)
    print(" ".join(written))


if __name__ == "__main__":
    main()
