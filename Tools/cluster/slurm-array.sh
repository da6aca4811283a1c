#!/usr/bin/env bash
# SLURM job array running mc-generic in shards, then merging them.
#
#   sbatch --array=0-15%8 Tools/cluster/slurm-array.sh          # 16 shards, 8 at a time
#   sbatch --dependency=afterok:<jobid> --wrap \
#     ".build/release/mc-generic merge results/shard-* --output results/merged"
#
# Each array task runs the contiguous, disjoint part K of N of the samples
# (mc-generic reads SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT). A task that
# fails or is preempted is resubmitted with the same index and resumes from its
# own checkpoint; the merged summary equals a single run's, bit for bit.
#SBATCH --job-name=mc-generic
#SBATCH --cpus-per-task=2
#SBATCH --time=02:00:00
#SBATCH --output=results/slurm-%A_%a.log
set -euo pipefail
SAMPLES=${SAMPLES:-100000}
SEED=${SEED:-0}
OUT="results/shard-${SLURM_ARRAY_TASK_ID}"
mkdir -p results
if [ -f "$OUT/state.json" ]; then
  exec .build/release/mc-generic --samples "$SAMPLES" --seed "$SEED" --threads "${SLURM_CPUS_PER_TASK:-2}" --resume "$OUT" --quiet
else
  exec .build/release/mc-generic --samples "$SAMPLES" --seed "$SEED" --threads "${SLURM_CPUS_PER_TASK:-2}" --output "$OUT" --quiet
fi
