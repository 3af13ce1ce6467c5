#!/usr/bin/env bash
# The benchmark driver for every performance goal in the issues: runs specnmf
# and the peers available here (scipy, scikit-learn, numpy re-implementations
# of librosa's algorithms) on the same data in the same run, medians of several
# runs, and prints the ratios. Not a test: timings on a shared machine are noisy.
#   jobs/bench_all.sh [BUILD_DIR] [OUT.md]      (env: QUICK=1 for fewer repeats)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
out=${2:-$build/bench_all.md}
py=${SN_PYTHON:-/usr/bin/python3}
reps=5; [ "${QUICK:-0}" = 1 ] && reps=3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 BLIS_NUM_THREADS=1
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 OMPI_MCA_mtl=^ofi
{
  echo "# specnmf benchmarks ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
  echo; echo "## STFT job (issue 2)"; echo '```'
  "$py" "$here/bench_stft_job.py" "$build" 600 "$reps"
  echo '```'; echo; echo "## STFT kernel vs a plain batched FFTW loop and scipy (issue 2)"; echo '```'
  bash "$here/bench_stft.sh" "$build" 600 2048 512 measure "$reps"
  echo '```'; echo; echo "## NMF, V 1025 x 100000, R = 16 (issue 3)"
  REPS=$reps bash "$here/bench_nmf.sh" "$build"
  echo; echo "## NNLS and mel inversion (issue 4)"; echo '```'
  "$py" "$here/bench_nnls.py" "$build/specnmf" --repeat "$reps"
  echo '```'; echo; echo "## Griffin-Lim, 1025 x 5000, 32 iterations (issue 5)"; echo '```'
  "$py" "$here/bench_griffinlim.py" "$build/specnmf" --repeat "$reps"
  echo '```'; echo; echo "## Separation of 10 minutes, R = 16, 200 iterations (issue 5)"; echo '```'
  "$py" "$here/bench_separate.py" "$build/specnmf"
  echo '```'
} 2>&1 | tee "$out"
echo "written: $out"
