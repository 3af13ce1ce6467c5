#!/usr/bin/env bash
# Install what specnmf needs on Debian 12 (only what is missing; needs root or
# sudo) and build it into ${SN_BUILD_DIR:-build}. Sourced by run_example.sh and
# run_tests.sh; safe to run again.
set -euo pipefail
SN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SN_BUILD_DIR="${SN_BUILD_DIR:-$SN_ROOT/build}"

# Build and run dependencies, then what the tests use (Debian's Python stack,
# the instrument samples the separation tests mix, Slurm for the cluster tests,
# clang for the fuzz targets, iproute2 and util-linux for the multi-host tests'
# network namespaces).
SN_PKGS_BUILD="gcc make cmake pkg-config openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
  libfftw3-dev libfftw3-mpi-dev libscalapack-openmpi-dev libopenblas-dev libblis-serial-dev
  libsndfile1-dev libsoxr-dev libpng-dev"
SN_PKGS_TEST="python3 python3-numpy python3-scipy python3-sklearn python3-h5py python3-soundfile
  python3-matplotlib python3-mir-eval hydrogen-drumkits fluid-soundfont-gm fluidsynth
  slurm-wlm munge clang libclang-rt-14-dev valgrind iproute2 util-linux"

sn_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "specnmf setup: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

sn_build() {
  cmake -S "$SN_ROOT" -B "$SN_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$SN_BUILD_DIR" -j"$(nproc)"
}

# The launcher as root on a small machine: one BLAS thread per rank.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" BLIS_NUM_THREADS="${BLIS_NUM_THREADS:-1}"
