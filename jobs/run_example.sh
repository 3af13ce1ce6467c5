#!/usr/bin/env bash
# Install what is missing, build, and run the main job on the bundled example
# (examples/example.flac, 20 s) at 2 ranks. Outputs go to ${1:-out/example}.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/sn_setup.sh"
# shellcheck disable=SC2086
sn_install $SN_PKGS_BUILD
sn_build
OUT="${1:-$SN_ROOT/out/example}"
mkdir -p "$OUT"
NP="${SN_NP:-2}"
mpirun --oversubscribe --mca btl self,vader --mca pml ob1 --mca mtl ^ofi -n "$NP" -x OPENBLAS_NUM_THREADS "$SN_BUILD_DIR/specnmf" stft "$SN_ROOT/examples/example.flac" \
  -o "$OUT/spectrogram.h5" --force --report "$OUT/report.json"
echo "specnmf example: spectrogram in $OUT/spectrogram.h5, run report in $OUT/report.json"
