#!/usr/bin/env bash
# A one-node Slurm cluster for the integration tests, from Debian's slurmctld, slurmd, slurm-client and
# munge (../shared/docs/PLATFORM.md "Scale-out"). Everything lives in one temporary folder: a generated
# munge key, munged's socket, pid, log and seed files, slurm.conf for this host, Slurm's state, spool,
# pid and log files. Nothing is written to /etc or /run; the daemons are stopped by their pid files.
#
#   test/slurm/cluster.sh start [DIR]   start the daemons (DIR default: a new mktemp folder); prints
#                                       SLURM_CONF=DIR/slurm.conf and IRD_SLURM_DIR=DIR on stdout,
#                                       ready for `export` (eval "$(test/slurm/cluster.sh start)")
#   test/slurm/cluster.sh stop DIR      cancel its jobs, stop the daemons by their pid files (SIGTERM, then
#                                       SIGKILL after 10 s), kill what outlived them and remove DIR
#                                       (IRD_SLURM_KEEP=1 keeps it, e.g. to read the logs)
#
# Needs root (SlurmUser=root, as the one-node recipe) and the packages: apt-get install slurmctld slurmd
# slurm-client munge. The ports are picked free at start (two clusters can run side by side).
set -euo pipefail

die() { echo "cluster.sh: $*" >&2; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: install Debian's slurmctld slurmd slurm-client munge (apt-get install slurmctld slurmd slurm-client munge)"; }

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free TCP port found"
}

stop_pidfile() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

start() {
  for c in munged slurmctld slurmd sbatch squeue scontrol sinfo; do need "$c"; done
  [ "$(id -u)" = 0 ] || die "the test cluster runs its daemons as root (SlurmUser=root): run as root"
  local dir=${1:-}
  if [ -z "$dir" ]; then dir=$(mktemp -d /tmp/ird-slurm.XXXXXX); else mkdir -p "$dir"; fi
  dir=$(cd "$dir" && pwd)
  chmod 700 "$dir"
  mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
  chmod 700 "$dir/munge"

  # munge: a fresh 1024-byte key, every file in the temp folder
  head -c 1024 /dev/urandom > "$dir/munge/munge.key"
  chmod 400 "$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
    || die "munged did not start: see $dir/munge/munged.log"
  for _ in $(seq 1 50); do [ -S "$dir/munge/munge.socket" ] && break; sleep 0.1; done
  [ -S "$dir/munge/munge.socket" ] || die "munged made no socket: see $dir/munge/munged.log"

  local host cpus memmb ctl_port d_port
  host=$(hostname -s)
  cpus=$(nproc)
  memmb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
  ctl_port=$(free_port)
  d_port=$(free_port)
  [ "$ctl_port" != "$d_port" ] || d_port=$(( ctl_port + 1 ))
  cat > "$dir/slurm.conf" <<CONF
# one-node test cluster written by test/slurm/cluster.sh
ClusterName=ird-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=15
MinJobAge=600
DefMemPerCPU=256
InactiveLimit=0
SlurmctldTimeout=60
SlurmdTimeout=60
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memmb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -f "$SLURM_CONF" -i || die "slurmctld did not start: see $dir/slurmctld.log"
  slurmd -f "$SLURM_CONF" -N "$host" || die "slurmd did not start: see $dir/slurmd.log"
  local state=""
  for _ in $(seq 1 150); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null | head -1 || true)
    case "$state" in idle|mixed|allocated) break ;; esac
    sleep 0.2
  done
  case "$state" in idle|mixed|allocated) ;; *) die "the node did not come up (state \"$state\"): see $dir/slurmctld.log and $dir/slurmd.log" ;; esac
  echo "SLURM_CONF=$SLURM_CONF"
  echo "IRD_SLURM_DIR=$dir"
}

stop() {
  local dir=${1:-${IRD_SLURM_DIR:-}}
  [ -n "$dir" ] || die "stop needs the cluster's folder: cluster.sh stop DIR"
  [ -f "$dir/slurm.conf" ] || die "$dir is no cluster folder (no slurm.conf)"
  # cancel this cluster's jobs first, so that Slurm stops their processes (SIGTERM, then SIGKILL after KillWait)
  if [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
    SLURM_CONF="$dir/slurm.conf" scancel --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 1 100); do
      [ -z "$(SLURM_CONF="$dir/slurm.conf" squeue -h 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  # what outlives slurmd: a job step's slurmstepd and, if it was killed, the job's own processes. Both carry
  # SLURM_CONF=<this folder>/slurm.conf in their environment (a job also SLURM_JOB_ID): stop those, by pid
  local p env
  for p in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$p" = $$ ] && continue
    env=$( { tr '\0' '\n' < "/proc/$p/environ"; } 2>/dev/null ) || continue
    printf '%s\n' "$env" | grep -qx "SLURM_CONF=$dir/slurm.conf" || continue
    if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = slurmstepd ] || printf '%s\n' "$env" | grep -q '^SLURM_JOB_ID='; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  stop_pidfile "$dir/munge/munged.pid"
  if [ "${IRD_SLURM_KEEP:-0}" != 1 ]; then rm -rf "$dir"; fi
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start [DIR] | stop DIR" >&2; exit 2 ;;
esac
