#!/bin/bash
# STFT kernel benchmark on one core: sn_stft_exec (window, r2c, magnitude) vs a
# plain loop of batched FFTW r2c calls over the same frames, and vs
# scipy.signal.stft (float32) on the same samples; medians of RUNS runs.
# usage: jobs/bench_stft.sh [BUILD_DIR] [SECONDS=600] [N_FFT=2048] [HOP=512] [FLAGS=measure|estimate] [RUNS=5] [BATCH=0]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${SN_BUILD:-$here/build}}
seconds=${2:-600}
n_fft=${3:-2048}
hop=${4:-512}
flags=${5:-measure}
runs=${6:-5}
batch=${7:-0}
sr=22050
py=${SN_PYTHON:-/usr/bin/python3}
bin=$build/tests/bench_stft
[ -x "$bin" ] || cmake --build "$build" --target bench_stft >/dev/null
measure=1
[ "$flags" = estimate ] && measure=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
echo "host=$(hostname) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\" date=$(date -Is)"
out=$("$bin" "$seconds" "$sr" "$n_fft" "$hop" "$batch" "$measure" "$runs" "$tmp/x.f32")
echo "$out"
get() { echo "$out" | sed -n "s/^.*\b$1=\([0-9.]*\).*$/\1/p" | head -1; }
"$py" "$here/jobs/bench/bench_stft_scipy.py" "$tmp/x.f32" "$sr" "$n_fft" "$hop" "$runs" \
  "$(get sn_stft_exec_power1_s)" "$(get fftw_batched_loop_s)"
