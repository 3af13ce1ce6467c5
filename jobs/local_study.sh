#!/usr/bin/env bash
# A strong- and weak-scaling study on this node without Slurm (the batch
# scripts run under mpirun), then the model fit and its prediction plot:
#   jobs/local_study.sh [STUDY_DIR] [RANKS_LIST]       (default /tmp/specnmf-study, "1 2 3")
# Env: SN_STUDY_SECONDS (300: the strong study's recording, 44.1 kHz), SN_WEAK_SECONDS
# (100 per rank), SN_STUDY_R (16), SN_STUDY_ITERS (60), SN_REPEATS (3), SPECNMF.
# Writes STUDY/strong/, STUDY/weak/ (reports, CSV, plots) and STUDY/model_* (fit,
# prediction to 1024 ranks and 100 hours, one PNG with the measured points).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
STUDY=${1:-/tmp/specnmf-study}
RANKS=${2:-1 2 3}
mkdir -p "$STUDY" && cd "$STUDY"
most=$(echo $RANKS | tr ' ' '\n' | sort -n | tail -1)
export SN_LAUNCHER=mpirun SN_NTASKS=$most SPECNMF=${SPECNMF:-$here/../build/specnmf}
export SN_MPIRUN_FLAGS="--bind-to none --oversubscribe --mca btl self,vader --mca pml ob1 --mca mtl ^ofi"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export SN_RANKS_LIST=$RANKS SN_REPEATS=${SN_REPEATS:-3}
export SN_NMF_ARGS="--max-iter ${SN_STUDY_ITERS:-60} --tol 0"
R=${SN_STUDY_R:-16}
rec=rec${SN_STUDY_SECONDS:-300}.wav
[ -f "$rec" ] || /usr/bin/python3 "$here/make_recording.py" "$rec" --seconds "${SN_STUDY_SECONDS:-300}" --rate 44100 --seed 3
bash "$here/strong_scaling.sbatch" "$rec" "$R" strong
bash "$here/weak_scaling.sbatch" "${SN_WEAK_SECONDS:-100}" "$R" weak
/usr/bin/python3 "$here/scaling_model.py" -o model strong/strong.csv weak/weak.csv --cores "$(nproc)" \
  --hours 100 --rate 44100 -k "$R" --iters 200 --max-ranks 1024
