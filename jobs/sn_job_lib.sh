# Shared by the specnmf Slurm batch scripts in jobs/ (source it, don't run it):
# finding the binary, one BLAS thread per rank, the MPI launcher (srun or
# mpirun), and running a step so that it survives the job's time limit:
# on the USR1 that `#SBATCH --signal=B:USR1@N` sends to the batch shell the
# step is told to checkpoint, specnmf exits with 10 (SN_ERR_INTERRUPTED), and
# the job requeues itself; the next start passes --resume.
#
# A batch script should set `trap 'SN_USR1_EARLY=1' USR1` as its first command:
# without a trap, bash dies of a USR1 that comes before the first step starts.
#
# Environment (all optional):
#   SPECNMF         the specnmf binary (default: specnmf on PATH)
#   SN_LAUNCHER     srun (default) or mpirun
#   SN_SRUN_MPI     srun's --mpi plugin (default pmix)
#   SN_MPIRUN_FLAGS extra mpirun flags (default "--bind-to none")
#   SN_THREADS      BLAS threads per rank (default SLURM_CPUS_PER_TASK, else 1)
#   SN_MAX_RESTARTS give up instead of requeueing after this many restarts (20)
#   SN_FORCE        1 (default): a fresh (not resumed) step passes --force, so
#                   a rerun overwrites the outputs of an earlier run

sn_msg() { printf '%s [job %s%s] %s\n' "$(date '+%F %T')" "${SLURM_JOB_ID:-none}" \
  "${SLURM_ARRAY_TASK_ID:+/$SLURM_ARRAY_TASK_ID}" "$*" >&2; }
sn_die() { sn_msg "error: $*"; exit 2; }

# Where this library and its sibling scripts live. sbatch runs a copy of the
# batch script from the spool, so $0 does not tell; SN_JOBS_DIR or the
# Command= that Slurm recorded at submission does.
sn_jobs_dir() {
  if [ -n "${SN_JOBS_DIR:-}" ]; then echo "$SN_JOBS_DIR"; return; fi
  local cmd=""
  if [ -n "${SLURM_JOB_ID:-}" ] && command -v scontrol >/dev/null 2>&1; then
    cmd=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | sed -n 's/^ *Command=\([^ ]*\).*/\1/p' | head -1)
  fi
  if [ -n "$cmd" ] && [ -f "$cmd" ]; then dirname "$cmd"; else dirname "$0"; fi
}

# Set SPECNMF, the thread variables and the launcher; print the setup.
sn_setup() {
  SPECNMF=${SPECNMF:-$(command -v specnmf || true)}
  [ -n "$SPECNMF" ] && [ -x "$SPECNMF" ] || sn_die "specnmf not found: set SPECNMF=/path/to/specnmf or put it on PATH"
  SN_THREADS=${SN_THREADS:-${SLURM_CPUS_PER_TASK:-1}}
  export OPENBLAS_NUM_THREADS=$SN_THREADS BLIS_NUM_THREADS=$SN_THREADS OMP_NUM_THREADS=$SN_THREADS
  SN_LAUNCHER=${SN_LAUNCHER:-srun}
  case "$SN_LAUNCHER" in srun|mpirun) ;; *) sn_die "SN_LAUNCHER must be srun or mpirun, not '$SN_LAUNCHER'" ;; esac
  SN_NTASKS=${SN_NTASKS:-${SLURM_NTASKS:-1}}
  SN_MAX_RESTARTS=${SN_MAX_RESTARTS:-20}
  sn_msg "specnmf=$SPECNMF launcher=$SN_LAUNCHER ntasks=$SN_NTASKS threads/rank=$SN_THREADS nodes=${SLURM_JOB_NODELIST:-?} restart=${SLURM_RESTART_COUNT:-0}"
}

# The launcher prefix for NP ranks, as an array in SN_LAUNCH.
sn_launch_cmd() {
  local np=$1
  if [ "$SN_LAUNCHER" = srun ]; then
    # srun (22.05+) does not inherit --cpus-per-task from sbatch: pass it.
    SN_LAUNCH=(srun --mpi="${SN_SRUN_MPI:-pmix}" -n "$np" -c "$SN_THREADS" --kill-on-bad-exit=1)
  else
    # shellcheck disable=SC2206
    SN_LAUNCH=(mpirun -n "$np" ${SN_MPIRUN_FLAGS:---bind-to none}
               -x OPENBLAS_NUM_THREADS -x BLIS_NUM_THREADS -x OMP_NUM_THREADS)
  fi
}

# True (0) if the step owning STATE should resume: its previous run was
# interrupted (marker written by sn_run_step), or the job was restarted by
# Slurm (node failure, requeue) while periodic checkpoints were on.
# With SN_STEP_CKPT set (the checkpoint file the step writes; specnmf deletes
# it when a run completes), resume exactly when that file exists: after a
# signal, a node failure with --checkpoint-every, or a resubmission.
sn_should_resume() {
  local state=$1
  if [ -n "${SN_STEP_CKPT:-}" ]; then [ -e "$SN_STEP_CKPT" ]; return; fi
  [ -e "$state.interrupted" ] && return 0
  [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ] && [ -n "${SN_CHECKPOINT_EVERY:-}" ] && [ -e "$state.started" ] && return 0
  return 1
}

# sn_run_step STATE NP specnmf-args...
# Run `specnmf ARGS` on NP ranks in the background (so the batch shell can take
# signals), forward USR1 to the launcher (srun and mpirun pass it on to every
# rank), and wait. STATE is a path prefix for the step's markers. Exit status:
#   0   done
#   10  interrupted and checkpointed: the job has been requeued (the batch
#       script should exit; Slurm ends it anyway)
#   else the step's failure code.
# A TERM (scancel, or the hard time limit) is not forwarded: Slurm signals the
# ranks itself; the job is then not requeued.
sn_run_step() {
  local state=$1 np=$2; shift 2
  local args=("$@") pid rc got_usr1=0 got_term=0
  if [ "${SN_USR1_EARLY:-0}" = 1 ]; then
    # The time is nearly up before this step began: requeue now, run it then.
    sn_msg "USR1 came before this step started (is --time shorter than the --signal lead + 60 s?)"
    sn_requeue
    return 10
  fi
  if sn_should_resume "$state"; then args+=(--resume)
  elif [ "${SN_FORCE:-1}" = 1 ]; then args+=(--force); fi
  sn_launch_cmd "$np"
  : > "$state.started"
  sn_msg "run: ${SN_LAUNCH[*]} $SPECNMF ${args[*]}"
  "${SN_LAUNCH[@]}" "$SPECNMF" "${args[@]}" &
  pid=$!
  case "${args[0]}" in
    nmf|separate)  # these checkpoint on USR1 and exit 10
      trap 'got_usr1=1; sn_msg "USR1: asking the ranks to checkpoint"; kill -USR1 '"$pid"' 2>/dev/null' USR1 ;;
    *)             # others just finish; the next step requeues first
      trap 'got_usr1=1; sn_msg "USR1: letting this ${args[0]} step finish, requeueing after it"' USR1 ;;
  esac
  trap 'got_term=1; sn_msg "TERM: the ranks are being stopped by Slurm"' TERM
  # a USR1 between the launch and the trap above only set SN_USR1_EARLY: pass it on now
  [ "${SN_USR1_EARLY:-0}" = 1 ] && kill -USR1 $$
  while :; do
    wait "$pid"; rc=$?
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null; rc=$?; break; fi
  done
  trap 'SN_USR1_EARLY=1' USR1; trap - TERM
  [ $got_usr1 = 1 ] && SN_USR1_EARLY=1   # the next step requeues instead of starting
  case $rc in
    0) rm -f "$state.interrupted"; sn_msg "step done"; return 0 ;;
    10)
      : > "$state.interrupted"
      if [ $got_term = 1 ] && [ $got_usr1 = 0 ]; then
        sn_msg "checkpointed after TERM; not requeueing (cancelled or hard limit): resubmit to resume"
        return 10
      fi
      sn_msg "checkpointed"
      sn_requeue
      return 10 ;;
    *) sn_msg "step failed with exit code $rc"; return "$rc" ;;
  esac
}

# Requeue this job (or array task) unless it has been restarted
# SN_MAX_RESTARTS times already; it starts again after Slurm's hold
# (AuthInfo cred_expire, 120 s by default), with SLURM_RESTART_COUNT + 1.
sn_requeue() {
  if [ -z "${SLURM_JOB_ID:-}" ]; then sn_msg "not under Slurm: run again to resume"; return 1; fi
  if [ "${SLURM_RESTART_COUNT:-0}" -ge "${SN_MAX_RESTARTS:-20}" ]; then
    sn_msg "already restarted ${SLURM_RESTART_COUNT} times (SN_MAX_RESTARTS): not requeueing; resubmit to resume"
    return 1
  fi
  local req=$SLURM_JOB_ID
  [ -n "${SLURM_ARRAY_JOB_ID:-}" ] && req=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}
  sn_msg "requeueing job $req"
  scontrol requeue "$req" || { sn_msg "scontrol requeue $req failed: resubmit to resume"; return 1; }
}

# True if report FILE exists and says exit_code 0 (a step to skip on restart).
sn_report_ok() {
  [ -s "$1" ] && grep -q '"exit_code": *0[,}[:space:]]' "$1"
}

# sn_study_step REPORT NP specnmf-args...
# One measurement of a scaling study: skipped if REPORT already says
# exit_code 0 (so a requeued study continues where it stopped), otherwise run
# fresh (an interrupted measurement is redone, never resumed: its times would
# be split over two runs). Returns what sn_run_step returns.
sn_study_step() {
  local report=$1 np=$2; shift 2
  if sn_report_ok "$report"; then sn_msg "have $(basename "$report"), skipping"; return 0; fi
  rm -f "$report.interrupted"
  SN_FORCE=1 sn_run_step "$report" "$np" "$@" --report "$report"
  local rc=$?
  rm -f "$report.interrupted" "$report.started"
  return $rc
}

# The rank counts of a study: SN_RANKS_LIST if set, else 1 2 4 ... up to the
# allocation's task count, plus the task count itself.
sn_ranks_list() {
  if [ -n "${SN_RANKS_LIST:-}" ]; then echo "$SN_RANKS_LIST"; return; fi
  local p=1 out=""
  while [ $p -lt "$SN_NTASKS" ]; do out="$out $p"; p=$((p * 2)); done
  echo "$out $SN_NTASKS"
}

# Locate python3 with matplotlib for the plots (Debian's by default).
sn_python() {
  local py
  for py in ${SN_PYTHON:-} /usr/bin/python3 python3; do
    if "$py" -c 'import matplotlib, numpy' >/dev/null 2>&1; then echo "$py"; return 0; fi
  done
  return 1
}
