#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, running Tools/cluster/slurm-array.sh:
#  1. installs Debian's slurm-wlm and munge if needed, writes a slurm.conf for
#     this host (2 CPUs, one partition) in a scratch directory, starts munged,
#     slurmctld and slurmd;
#  2. submits a 4-task array at a small configuration, waits (bounded), merges
#     the shards and checks that the merged summary is bit-identical to a
#     single-process run;
#  3. submits a second array, cancels one task mid-run (scancel), resubmits
#     that index, and checks that the resumed, merged result is identical again;
#  4. stops every daemon it started, by pid.
# Exits non-zero on any failure, with the reason on its last line. Needs root
# (CI runs as root). Usage: Tools/cluster/test-slurm.sh [path/to/mc-generic]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$repo/.build/release/mc-generic}
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
work=$(mktemp -d /tmp/mc-generic-slurm.XXXXXX)
pids=()
fail() { echo "test-slurm: FAIL: $*" >&2; exit 1; }
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    for log in "$work"/slurmctld.log "$work"/slurmd.log; do [ -f "$log" ] && { echo "--- $log"; tail -5 "$log"; } >&2; done
    echo "test-slurm: FAIL (status $status); logs were in $work" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || fail "needs root (it starts munged, slurmctld and slurmd)"
[ -x "$bin" ] || fail "no mc-generic at $bin (swift build -c release)"

if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
  echo "test-slurm: installing slurm-wlm munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge > /dev/null
fi

echo "test-slurm: starting munged, slurmctld, slurmd"
mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then mungekey --create --keyfile /etc/munge/munge.key; fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
# A socket of its own, so a munged already running here is left alone.
socket=/run/munge/mc-generic-test.socket
munge_pid=/run/munge/mc-generic-test.pid
rm -f "$munge_pid"
runuser -u munge -- munged --socket "$socket" --pid-file "$munge_pid" --force
for _ in $(seq 50); do [ -s "$munge_pid" ] && break; sleep 0.1; done
[ -s "$munge_pid" ] || fail "munged did not start"
pids+=("$(cat "$munge_pid")")

host=$(hostname -s)
mkdir -p "$work/state" "$work/spool" "$work/shared"
chmod 0777 "$work/shared"
export SLURM_CONF="$work/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=mcgeneric
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
KillWait=20
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -D -i > /dev/null 2>&1 &
pids+=($!)
slurmd -D > /dev/null 2>&1 &
pids+=($!)
deadline=$((SECONDS + 60))
until [ "$(sinfo -h -o %t 2>/dev/null | head -1)" = "idle" ]; do
  [ $SECONDS -lt $deadline ] || fail "the node did not become idle within 60 s: $(sinfo 2>&1 | tail -2)"
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || fail "a daemon (pid $pid) exited during start-up"; done
  sleep 0.5
done
echo "test-slurm: node $host idle: $(sinfo -h -o '%P %c CPUs %t')"

# The small configuration: tasks of a few seconds, one CPU each (two at a time).
small="--layers 2 --d-model 32 --heads 4 --d-ff 64 --seq-len 8 --checkpoint-seconds 0.5"
export MC_GENERIC="$bin" SEED=3

wait_for() {  # wait_for JOBID SECONDS: until no task of the job is queued or running
  local deadline=$((SECONDS + $2))
  while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ]; do
    [ $SECONDS -lt $deadline ] || fail "job $1 still running after $2 s: $(squeue -j "$1" 2>&1 | tail -3)"
    sleep 0.5
  done
}
compare() {  # compare A/summary.json B/summary.json MESSAGE: identical except timing and shard
  python3 "$repo/Tools/compare-summaries.py" "$1" "$2" --complete || fail "$3"
}
submit() {  # submit RESULTS ARRAY [SHARDS]: prints the job id
  RESULTS="$1" SAMPLES="$SAMPLES" MC_ARGS="$small" SHARDS="${3:-4}" \
    sbatch --parsable --array="$2" --cpus-per-task=1 --chdir="$work/shared" --output="$work/shared/slurm-%A_%a.log" \
    --export=ALL "$repo/Tools/cluster/slurm-array.sh"
}

echo "test-slurm: array of 4 tasks, then merge"
SAMPLES=256
job=$(submit "$work/shared/first" 0-3)
wait_for "$job" 120
for k in 0 1 2 3; do [ -s "$work/shared/first/shard-$k/summary.json" ] || fail "task $k left no summary: $(cat "$work/shared/slurm-${job}_$k.log" 2>/dev/null | tail -3)"; done
"$bin" merge "$work"/shared/first/shard-* --output "$work/first-merged" > /dev/null
read -r -a smallArgs <<< "$small"
"$bin" --samples "$SAMPLES" --seed 3 "${smallArgs[@]}" --quiet --output "$work/single" > /dev/null 2>&1
compare "$work/single/summary.json" "$work/first-merged/summary.json" "merged array differs from the single-process run"
echo "test-slurm: merged summary of 4 SLURM tasks == single-process run"

echo "test-slurm: second array, task 2 cancelled mid-run, resubmitted, merged"
SAMPLES=65536
job=$(submit "$work/shared/second" 0-3)
deadline=$((SECONDS + 90))
until [ -s "$work/shared/second/shard-2/state.json" ] && [ "$(squeue -h -j "${job}_2" -o %T 2>/dev/null)" = "RUNNING" ]; do
  [ $SECONDS -lt $deadline ] || fail "task 2 did not start and checkpoint within 90 s"
  sleep 0.2
done
sleep 0.5
scancel "${job}_2"
wait_for "$job" 180
python3 - "$work/shared/second/shard-2/state.json" <<'PY' || fail "task 2 finished before it was cancelled (no partial state to resume)"
import json, sys
text = open(sys.argv[1]).read().split("\n", 1)[1]
s = json.loads(text)
done, total = s["completedSamples"], 65536 // 4
print(f"test-slurm: task 2 cancelled after {done} of {total} samples")
sys.exit(0 if done < total else 1)
PY
job=$(submit "$work/shared/second" 2 4)
wait_for "$job" 120
python3 -c "import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))['completed_samples'] == 65536 // 4 else 1)" "$work/shared/second/shard-2/summary.json" \
  || fail "resubmitted task 2 did not complete: $(tail -3 "$work/shared/slurm-${job}_2.log" 2>/dev/null)"
"$bin" merge "$work"/shared/second/shard-* --output "$work/second-merged" > /dev/null
"$bin" --samples "$SAMPLES" --seed 3 "${smallArgs[@]}" --quiet --output "$work/single2" > /dev/null 2>&1
compare "$work/single2/summary.json" "$work/second-merged/summary.json" "cancelled, resumed and merged array differs from the single-process run"
echo "test-slurm: cancelled + resubmitted + merged == single-process run"
echo "test-slurm: OK"
