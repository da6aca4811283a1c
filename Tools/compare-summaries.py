#!/usr/bin/env python3
"""Exit 0 when two mc-generic summary.json files hold the same results: equal
field by field (every number to the last bit), ignoring only the run's
timing (elapsed_seconds) and which shard wrote it (config.shard).

    compare-summaries.py A/summary.json B/summary.json [--complete]
"""
import json
import sys

paths = [a for a in sys.argv[1:] if not a.startswith("--")]
a, b = (json.load(open(p)) for p in paths)
for s in (a, b):
    s.pop("elapsed_seconds", None)
    s["config"].pop("shard", None)
if "--complete" in sys.argv and not (a["complete"] and b["complete"]):
    sys.exit(f"compare-summaries: incomplete: {paths}")
if a != b:
    sys.exit(f"compare-summaries: {paths[0]} and {paths[1]} differ")
