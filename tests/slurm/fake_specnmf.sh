#!/bin/bash
# A TEST DOUBLE of the specnmf CLI, used only to test the job scripts' plumbing
# (argument passing, launcher, USR1 -> checkpoint -> exit 10 -> requeue ->
# --resume, report gathering) independently of the real binary. It computes
# nothing: each "rank" (one process per task under srun/mpirun) sleeps through
# FAKE_ITERS iterations of FAKE_STEP seconds (work split over the ranks), keeps
# its iteration count in a checkpoint file, and rank 0 writes a report in the
# run-report schema with the wall times it measured.
#   specnmf stft IN -o OUT.h5 | nmf SPEC.h5 -k R -o MODEL.h5 | separate IN -k R -o DIR
#   common: --report F.json --quiet --force --resume --checkpoint-every N
set -u
cmd=${1:-}; shift || true
case "$cmd" in
  stft|nmf|separate) ;;
  --version) echo "specnmf fake"; exit 0 ;;
  *) echo "specnmf(fake): unknown command '$cmd'" >&2; exit 2 ;;
esac
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-0}}}   # mpirun inside sbatch inherits SLURM_PROCID=0
size=${OMPI_COMM_WORLD_SIZE:-${SLURM_STEP_NUM_TASKS:-${SLURM_NTASKS:-1}}}
in="" out="" k=4 report="" resume=0 force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h) echo "usage: specnmf $cmd IN -o OUT [-k R] [--report F.json] [--resume]"; exit 0 ;;
    -o|--output) out=$2; shift ;;
    -k) k=$2; shift ;;
    --report) report=$2; shift ;;
    --resume) resume=1 ;;
    --force) force=1 ;;
    --quiet|-q) ;;
    --checkpoint-every|--max-iter|--tol|--beta|--solver|--hop|--n-fft) shift ;;
    -*) echo "specnmf(fake): $1: unknown option" >&2; exit 2 ;;
    *) [ -z "$in" ] && in=$1 ;;
  esac
  shift
done
[ -n "$in" ] && [ -n "$out" ] || { echo "specnmf(fake): need IN and -o OUT" >&2; exit 2; }
[ -e "$in" ] || { echo "specnmf(fake): $in: no such file" >&2; exit 3; }
if [ "$cmd" = separate ]; then mkdir -p "$out"; state=$out/fake; else state=$out.fake; fi
ckpt=$state.ckpt.$rank
# the file the real specnmf keeps while a run is unfinished (job scripts test it)
if [ "$cmd" = separate ]; then main_ckpt=$out/nmf.ckpt.h5; else main_ckpt=$out.ckpt.h5; fi
iters=${FAKE_ITERS:-20}
[ "$cmd" = stft ] && iters=${FAKE_STFT_ITERS:-4}
step=$(awk -v s="${FAKE_STEP:-0.5}" -v p="$size" 'BEGIN{printf "%.3f", s/p}')
start=0
if [ $resume = 1 ]; then
  [ -r "$ckpt" ] || { echo "specnmf(fake): $ckpt: no checkpoint to resume from" >&2; exit 3; }
  start=$(cat "$ckpt")
elif [ -e "$out" ] && [ "$cmd" != separate ] && [ $force = 0 ]; then
  echo "specnmf(fake): $out: exists (use --force)" >&2; exit 3
fi
stop=0
trap 'stop=1' USR1 TERM
t0=$(date +%s.%N)
[ "$rank" = 0 ] && echo "run start=$start pid=$$ job=${SLURM_JOB_ID:-} restart=${SLURM_RESTART_COUNT:-0}" >> "$state.log"
i=$start
while [ "$i" -lt "$iters" ]; do
  if [ $stop = 1 ]; then
    echo "$i" > "$ckpt"
    [ "$rank" = 0 ] && echo "$i" > "$main_ckpt"
    [ "$rank" = 0 ] && echo "checkpoint at=$i" >> "$state.log"
    echo "specnmf(fake): interrupted by a signal: checkpoint at iteration $i" >&2
    exit 10
  fi
  sleep "$step"
  i=$((i + 1))
done
t1=$(date +%s.%N)
if [ "$rank" = 0 ]; then
  echo "done iters=$i" >> "$state.log"
  if [ "$cmd" = separate ]; then echo "fake parts" > "$out/part_00.txt"; else echo "fake $cmd" > "$out"; fi
  if [ -n "$report" ]; then
    awk -v c="$cmd" -v p="$size" -v k="$k" -v t0="$t0" -v t1="$t1" -v n="$iters" -v j="${SLURM_JOB_ID:-}" 'BEGIN{
      tot = t1 - t0; w = 0.45 * tot; h = 0.45 * tot; ar = 0.05 * tot; io = 0.05 * tot
      printf "{\n  \"command\": \"%s\",\n  \"version\": \"fake\",\n  \"ranks\": %d,\n", c, p
      printf "  \"threads_per_rank\": 1,\n  \"blas\": \"none\",\n  \"slurm_job_id\": \"%s\",\n  \"exit_code\": 0,\n", j
      printf "  \"options\": {\"components\": %d},\n  \"facts\": {\"F\": 513, \"N\": 10000, \"k\": %d, \"n_iter\": %d},\n", k, k, n
      printf "  \"bytes_reduced\": %d,\n  \"phases\": {\n", 2 * 513 * k * 8 * n
      printf "    \"nmf_w\": {\"min\": %.6f, \"max\": %.6f, \"mean\": %.6f, \"imbalance\": 1.0, \"calls\": %d},\n", w, w, w, n
      printf "    \"nmf_h\": {\"min\": %.6f, \"max\": %.6f, \"mean\": %.6f, \"imbalance\": 1.0, \"calls\": %d},\n", h, h, h, n
      printf "    \"allreduce\": {\"min\": %.6f, \"max\": %.6f, \"mean\": %.6f, \"imbalance\": 1.0, \"calls\": %d},\n", ar, ar, ar, 2 * n
      printf "    \"write\": {\"min\": %.6f, \"max\": %.6f, \"mean\": %.6f, \"imbalance\": 1.0, \"calls\": 1},\n", io, io, io
      printf "    \"total\": {\"min\": %.6f, \"max\": %.6f, \"mean\": %.6f, \"imbalance\": 1.0, \"calls\": 1}\n  }\n}\n", tot, tot, tot
    }' > "$report.tmp" && mv "$report.tmp" "$report"
  fi
fi
rm -f "$ckpt"
[ "$rank" = 0 ] && rm -f "$main_ckpt"
exit 0
