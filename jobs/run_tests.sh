#!/usr/bin/env bash
# Install what is missing, build, and run every test (unit, 1/2/3-rank MPI,
# fault injection, Slurm on a one-node loopback cluster). Ends with ctest's summary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/sn_setup.sh"
# shellcheck disable=SC2086
sn_install $SN_PKGS_BUILD $SN_PKGS_TEST
sn_build
cd "$SN_BUILD_DIR"
ctest --output-on-failure -j"${SN_TEST_JOBS:-2}" "$@"
