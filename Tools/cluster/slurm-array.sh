#!/usr/bin/env bash
# SLURM job array running mc-generic in shards, then merging them.
#
#   sbatch --array=0-15%8 Tools/cluster/slurm-array.sh          # 16 shards, 8 at a time
#   sbatch --dependency=afterok:<jobid> --wrap \
#     ".build/release/mc-generic merge results/shard-* --output results/merged"
#
# Each array task runs the contiguous, disjoint part K of N of the samples,
# K = SLURM_ARRAY_TASK_ID and N = SHARDS (default: the array's task count).
# A task that fails, is cancelled or is preempted resumes from its own
# checkpoint when resubmitted with the same index; give SHARDS then, since a
# resubmitted array has fewer tasks:
#
#   sbatch --array=2 --export=ALL,SHARDS=16 Tools/cluster/slurm-array.sh
#
# The merged summary equals a single run's, bit for bit. Environment:
#   SAMPLES (100000), SEED (0), SHARDS, RESULTS (results: a directory on a
#   filesystem every node shares), MC_GENERIC (.build/release/mc-generic),
#   MC_ARGS (further mc-generic options, e.g. "--layers 6 --seq-len 32").
#SBATCH --job-name=mc-generic
#SBATCH --cpus-per-task=2
#SBATCH --time=02:00:00
#SBATCH --output=slurm-%A_%a.log
set -euo pipefail
SAMPLES=${SAMPLES:-100000}
SEED=${SEED:-0}
SHARDS=${SHARDS:-${SLURM_ARRAY_TASK_COUNT:?not a SLURM array task}}
RESULTS=${RESULTS:-results}
MC_GENERIC=${MC_GENERIC:-.build/release/mc-generic}
read -r -a extra <<< "${MC_ARGS:-}"
OUT="$RESULTS/shard-${SLURM_ARRAY_TASK_ID}"
mkdir -p "$RESULTS"
args=(--samples "$SAMPLES" --seed "$SEED" --shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}" --threads "${SLURM_CPUS_PER_TASK:-2}" --quiet "${extra[@]}")
if [ -f "$OUT/state.json" ]; then
  exec "$MC_GENERIC" "${args[@]}" --resume "$OUT"
else
  exec "$MC_GENERIC" "${args[@]}" --output "$OUT"
fi
