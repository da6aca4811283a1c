"""Markdown tables for PERF.md from kernel-compare --json output.

    python3 Tools/perf/tables.py two_threads.jsonl one_thread.jsonl PEAK1 PEAK2

PEAK1/PEAK2: the measured peak FMA GFLOP/s on one core / on two cores (printed by
kernel-compare on stderr), for the "% of peak" columns. One row per kernel and
shape, one thread then two.
"""
import json
import sys
from pathlib import Path

UNITS = {"gflops": "GFLOP/s", "gbps": "GB/s", "gnumbers_per_second": "G numbers/s", "samples_per_second": "samples/s"}


def load(path):
    # The first line of newer files is {"machine": {...}} (CPU, ISA, OpenBLAS): not a measurement.
    rows = [r for r in (json.loads(l) for l in Path(path).read_text().splitlines() if l.startswith("{")) if "machine" not in r]
    table = {}
    for r in rows:
        key = next(k for k in UNITS if k in r)
        table.setdefault((r["kernel"], r["shape"]), {})[r["backend"]] = (r[key], key, r)
    return table


def main():
    two, one = load(sys.argv[1]), load(sys.argv[2])
    peaks = {1: float(sys.argv[3]), 2: float(sys.argv[4])}
    # One row per (kernel, shape): one thread, then two; the ratio is OpenBLAS time ÷ Swift time.
    print("| kernel | shape | Swift, 1 thread | OpenBLAS | ratio | % of peak | Swift, 2 threads | OpenBLAS | ratio | % of peak | numpy (2) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for key in two:
        cells = []
        for threads, table in ((1, one), (2, two)):
            if key not in table:
                cells += ["–"] * 4
                continue
            entry = table[key]
            main_backend = "swift" if "swift" in entry else next(iter(entry))
            rate, unit, row = entry[main_backend]
            ratio = row.get("ratio_to_openblas")
            cells += [
                f"{rate:.2f} {UNITS[unit]}" if threads == 1 else f"{rate:.2f}",
                f"{entry['openblas'][0]:.2f}" if "openblas" in entry else "–",
                f"{ratio:.2f}×" if ratio is not None and "openblas" in entry else "–",
                f"{100 * rate / peaks[threads]:.0f} %" if unit == "gflops" else "–",
            ]
        numpy = f"{two[key]['numpy'][0]:.2f}" if "numpy" in two[key] else "–"
        print(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + f" | {numpy} |")


if __name__ == "__main__":
    main()
