"""Markdown tables for PERF.md from kernel-compare --json output.

    python3 Tools/perf/tables.py two_threads.jsonl one_thread.jsonl PEAK1 PEAK2

PEAK1/PEAK2: the measured peak FMA GFLOP/s on one core / on two cores (printed by
kernel-compare on stderr), for the "% of peak" column.
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
    print("| kernel | shape | threads | Swift | OpenBLAS | numpy | OpenBLAS time ÷ Swift time | % of peak |")
    print("|---|---|---|---|---|---|---|---|")
    for key in two:
        for threads, table in ((2, two), (1, one)):
            if key not in table:
                continue
            entry = table[key]
            main_backend = "swift" if "swift" in entry else next(iter(entry))
            rate, unit, row = entry[main_backend]
            def fmt(backend):
                return f"{entry[backend][0]:.2f}" if backend in entry else "–"
            ratio = row.get("ratio_to_openblas")
            ratio_text = f"{ratio:.2f}×" if ratio is not None and "openblas" in entry else "–"
            peak = f"{100 * rate / peaks[threads]:.0f} %" if unit == "gflops" else "–"
            print(f"| {key[0]} | {key[1]} | {threads} | {rate:.2f} {UNITS[unit]} | {fmt('openblas')} | {fmt('numpy')} | {ratio_text} | {peak} |")


if __name__ == "__main__":
    main()
