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
#  4. a soak: a 4-task array whose tasks are killed (SIGKILL, through scancel) at random
#     moments, at least once each, and resubmitted until every shard completes, the
#     RSS of every task sampled over its life (each life's growth after its first
#     second must stay under 10 MB); merged, it must equal the single-process run.
#     SOAK_SAMPLES (default 262144: about a minute here) and SOAK_KILLS (default 8) size it;
#  5. stops every daemon it started, by pid.
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

SAMPLES=${SOAK_SAMPLES:-262144}
maxKills=${SOAK_KILLS:-8}
echo "test-slurm: soak: $SAMPLES samples in 4 tasks, $maxKills SIGKILLs at random moments (every task at least once), resubmitted until done"
soak="$work/shared/soak"
job=$(submit "$soak" 0-3)
rsslog="$work/rss.txt"; : > "$rsslog"
declare -a kills=(0 0 0 0)
total=0
nextKill=$((SECONDS + 1 + RANDOM % 3))
deadline=$((SECONDS + 900))
shardDone() { python3 -c "import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))['completed_samples'] == int(sys.argv[2]) else 1)" "$soak/shard-$1/summary.json" "$((SAMPLES / 4))" 2>/dev/null; }
while :; do
  [ $SECONDS -lt $deadline ] || fail "soak did not finish within 900 s"
  # RSS of every running task: time, pid, RSS (KiB), shard.
  ps -o pid=,rss=,args= -C mc-generic | awk -v t="$SECONDS" '{ for (i = 3; i <= NF; i++) if ($i == "--shard") print t, $1, $2, $(i + 1) }' >> "$rsslog" || true
  queued=$(squeue -h -o "%K" 2>/dev/null | tr '\n' ' ')
  finished=0
  for k in 0 1 2 3; do
    if [[ " $queued " == *" $k "* ]]; then continue; fi
    if shardDone "$k"; then finished=$((finished + 1)); continue; fi
    job=$(submit "$soak" "$k" 4)   # killed (or not yet resubmitted): resume it
  done
  [ "$finished" -lt 4 ] || break
  if [ $SECONDS -ge $nextKill ] && [ "$total" -lt "$maxKills" ]; then
    # The running task killed least so far, at a random moment.
    victim=$(squeue -h -t RUNNING -o "%i %K" 2>/dev/null | while read -r id k; do echo "${kills[$k]} $k $id"; done | sort -n | head -1)
    if [ -n "$victim" ]; then
      read -r _ k id <<< "$victim"
      scancel --signal=KILL --full "$id" 2>/dev/null || true
      kills[$k]=$((kills[$k] + 1)); total=$((total + 1))
    fi
    nextKill=$((SECONDS + 1 + RANDOM % 3))
  fi
  sleep 0.5
done
for k in 0 1 2 3; do [ "${kills[$k]}" -ge 1 ] || fail "soak: task $k finished before it could be killed (raise SOAK_SAMPLES)"; done
"$bin" merge "$soak"/shard-* --output "$work/soak-merged" > /dev/null
"$bin" --samples "$SAMPLES" --seed 3 "${smallArgs[@]}" --quiet --output "$work/soak-single" > /dev/null 2>&1
compare "$work/soak-single/summary.json" "$work/soak-merged/summary.json" "the soaked, killed and resumed array differs from the single-process run"
python3 - "$rsslog" <<'PY' || fail "soak: a task's RSS grew over its life"
import collections, sys
lives = collections.defaultdict(list)
for line in open(sys.argv[1]):
    t, pid, rss, shard = line.split()
    lives[(shard, pid)].append((int(t), int(rss)))
worst = 0
for (shard, pid), samples in sorted(lives.items()):
    start = samples[0][0]
    settled = [rss for t, rss in samples if t >= start + 1]
    if len(settled) < 2:
        continue
    growth = (max(settled) - settled[0]) / 1024
    worst = max(worst, growth)
    print(f"test-slurm: soak: shard {shard} pid {pid}: {len(samples)} RSS samples over {samples[-1][0] - start} s, "
          f"{min(r for _, r in samples) / 1024:.1f}-{max(r for _, r in samples) / 1024:.1f} MB, growth after 1 s {growth:+.1f} MB")
sys.exit(0 if worst < 10 else 1)
PY
echo "test-slurm: soak: $total kills (per task: ${kills[*]}), resumed and merged == single-process run; RSS flat within 10 MB over every life"
echo "test-slurm: OK"
