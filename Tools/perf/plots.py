"""SVG plots for PERF.md from kernel-compare's --json output (stdlib only).

    python3 Tools/perf/plots.py OUTDIR two_threads.jsonl one_thread.jsonl [engines.jsonl]

Writes OUTDIR/vs-openblas.svg (each kernel's speed relative to OpenBLAS, one
and two threads), OUTDIR/thread-scaling.svg (two-thread over one-thread
throughput) and, given the engine sweep, OUTDIR/engines.svg (mc-generic
samples/s against sequence length for each engine timed).
"""
import json
import math
import sys
from pathlib import Path


def load(path):
    # The first line of newer files is {"machine": {...}} (CPU, ISA, OpenBLAS): not a measurement.
    return [row for row in (json.loads(line) for line in Path(path).read_text().splitlines() if line.startswith("{")) if "machine" not in row]


def rate(row):
    for key in ("gflops", "gbps", "gnumbers_per_second", "samples_per_second"):
        if key in row:
            return row[key]
    return None


def svg(width, height, body):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n'
            + "\n".join(body) + "\n</svg>\n")


def bars(title, labels, series, reference, axis_label, path):
    """Horizontal grouped bars; series = [(name, colour, values)]; a dashed line at `reference`."""
    left, right, top, row = 300, 40, 40, 12 * len(series) + 8
    height = top + row * len(labels) + 70
    width = 820
    largest = max(v for _, _, values in series for v in values if v is not None)
    scale_max = max(reference * 1.2, largest * 1.05)
    x = lambda v: left + (width - left - right) * v / scale_max
    body = [f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    for i, label in enumerate(labels):
        y0 = top + i * row
        body.append(f'<text x="{left - 6}" y="{y0 + row / 2 + 4}" text-anchor="end">{label}</text>')
        for j, (_, colour, values) in enumerate(series):
            v = values[i]
            if v is None:
                continue
            body.append(f'<rect x="{left}" y="{y0 + 4 + 12 * j}" width="{x(v) - left:.1f}" height="10" fill="{colour}"/>')
            body.append(f'<text x="{x(v) + 3:.1f}" y="{y0 + 13 + 12 * j}" font-size="10">{v:.2f}</text>')
    axis_y = height - 65
    body.append(f'<line x1="{x(reference):.1f}" y1="{top}" x2="{x(reference):.1f}" y2="{axis_y}" stroke="black" stroke-dasharray="4 3"/>')
    body.append(f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="black"/>')
    step = 0.5 if scale_max <= 4 else (1 if scale_max <= 8 else 5)
    tick = 0.0
    while tick <= scale_max:
        body.append(f'<text x="{x(tick):.1f}" y="{axis_y + 14}" text-anchor="middle" font-size="10">{tick:g}</text>')
        tick += step
    body.append(f'<text x="{(left + width - right) / 2}" y="{axis_y + 32}" text-anchor="middle">{axis_label}</text>')
    for j, (name, colour, _) in enumerate(series):
        body.append(f'<rect x="{left + 150 * j}" y="{height - 12}" width="10" height="10" fill="{colour}"/>')
        body.append(f'<text x="{left + 150 * j + 14}" y="{height - 3}">{name}</text>')
    Path(path).write_text(svg(width, height, body))


def engines_plot(rows, path):
    engines = {}
    for row in rows:
        if row["kernel"] != "mc_generic_sample":
            continue
        n = int(row["shape"].split("_n")[1])
        engines.setdefault(row["backend"], []).append((n, row["samples_per_second"]))
    width, height, left, right, top, bottom = 640, 380, 70, 120, 40, 50
    lengths = sorted({n for points in engines.values() for n, _ in points})
    values = [v for points in engines.values() for _, v in points]
    lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    x = lambda n: left + (width - left - right) * lengths.index(n) / max(1, len(lengths) - 1)
    y = lambda v: top + (height - top - bottom) * (hi - math.log10(v)) / (hi - lo)
    body = [f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">mc-generic samples/s, one thread, BERT-base (log scale)</text>']
    for e in range(lo, hi + 1):
        body.append(f'<line x1="{left}" y1="{y(10 ** e):.1f}" x2="{width - right}" y2="{y(10 ** e):.1f}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 6}" y="{y(10 ** e) + 4:.1f}" text-anchor="end">{10 ** e:g}</text>')
    for n in lengths:
        body.append(f'<text x="{x(n):.1f}" y="{height - bottom + 16}" text-anchor="middle">{n}</text>')
    body.append(f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">sequence length n</text>')
    styles = {"dense": ("#d62728", "6 4"), "sketch": ("#1f77b4", ""), "gram": ("#2ca02c", "2 3")}
    labels = []
    for name, points in sorted(engines.items()):
        colour, dash = styles.get(name, ("#7f7f7f", ""))
        points.sort()
        path_d = " ".join(f'{"M" if i == 0 else "L"}{x(n):.1f},{y(v):.1f}' for i, (n, v) in enumerate(points))
        body.append(f'<path d="{path_d}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>')
        for n, v in points:
            body.append(f'<circle cx="{x(n):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
        n, v = points[-1]
        labels.append([y(v) + 4, x(n) + 8, colour, name])
    # End labels at least 14 px apart (engines can end at nearly the same rate).
    labels.sort()
    for above, below in zip(labels, labels[1:]):
        below[0] = max(below[0], above[0] + 14)
    for label_y, label_x, colour, name in labels:
        body.append(f'<text x="{label_x:.1f}" y="{label_y:.1f}" fill="{colour}">{name}</text>')
    Path(path).write_text(svg(width, height, body))


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    two, one = load(sys.argv[2]), load(sys.argv[3])
    key = lambda r: (r["kernel"], r["shape"])
    swift_two = {key(r): r for r in two if r["backend"] == "swift" and r.get("ratio_to_openblas") is not None}
    swift_one = {key(r): r for r in one if r["backend"] == "swift" and r.get("ratio_to_openblas") is not None}
    labels = [k for k in swift_two]
    bars("Swift kernels relative to OpenBLAS (time ratio; > 1 is faster)",
         [f"{k} {s}" for k, s in labels],
         [("2 threads", "#1f77b4", [swift_two[k]["ratio_to_openblas"] for k in labels]),
          ("1 thread", "#9ecae1", [swift_one[k]["ratio_to_openblas"] if k in swift_one else None for k in labels])],
         1.0, "OpenBLAS time / Swift time", out / "vs-openblas.svg")
    all_one = {key(r): r for r in one if r["backend"] in ("swift", "machine")}
    scaling = [(k, rate(r) / rate(all_one[key(r)])) for r in two if r["backend"] in ("swift", "machine")
               for k in [key(r)] if k in all_one and rate(all_one[k])]
    bars("Two threads over one thread (throughput ratio)", [f"{k} {s}" for (k, s), _ in scaling],
         [("2 threads / 1 thread", "#2ca02c", [v for _, v in scaling])], 2.0, "speed-up (2 = perfect)",
         out / "thread-scaling.svg")
    if len(sys.argv) > 4:
        engines_plot(load(sys.argv[4]), out / "engines.svg")


if __name__ == "__main__":
    main()
