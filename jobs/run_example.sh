#!/usr/bin/env bash
# Install what is missing, build, and separate the bundled example
# (examples/example.flac, 20 s) into 8 parts at 2 ranks. Outputs go to ${1:-out/example}.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/sn_setup.sh"
# shellcheck disable=SC2086
sn_install $SN_PKGS_BUILD
sn_build
OUT="${1:-$SN_ROOT/out/example}"
mkdir -p "$OUT"
NP="${SN_NP:-2}"
mpirun --oversubscribe --mca btl self,vader --mca pml ob1 --mca mtl ^ofi -n "$NP" -x OPENBLAS_NUM_THREADS \
  "$SN_BUILD_DIR/specnmf" separate "$SN_ROOT/examples/example.flac" -k 8 --sort -o "$OUT" --force \
  --report "$OUT/report.json"
echo "specnmf example: the 8 parts are $OUT/component-00.wav .. component-07.wav (they add up to the mixture),"
echo "  the picture of V, W and H is $OUT/overview.png, spectrogram/W/H/loss in $OUT/result.h5, run report in $OUT/report.json"
