#!/usr/bin/env bash
# Sanitizer CI (issue 7): a second build with AddressSanitizer +
# UndefinedBehaviorSanitizer (-DSN_SANITIZE=ON, Debug), running the unit tests,
# the 2-rank tests (without the long fault matrices, which exercise error paths
# the hostile-input test also covers), the hostile-input test, the fuzz
# regression inputs, and a short libFuzzer run of each fuzz target when clang
# can link libFuzzer; valgrind memcheck from a -DSN_NATIVE=OFF build.
# Budget: ~20 min on 2 cores (SN_VALGRIND=0 or SN_FUZZ_SECONDS=0 skip parts).
#   bash .ci/sanitize.sh                   # from the repository root
#   SN_SANITIZE_BUILD=dir SN_FUZZ_SECONDS=60 bash .ci/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
B=${SN_SANITIZE_BUILD:-build-sanitize}
FUZZ_SECONDS=${SN_FUZZ_SECONDS:-30}
JOBS=${SN_JOBS:-2}

# Open MPI and HDF5 keep allocations until exit: leaks are not checked.
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:allocator_may_return_null=1:max_allocation_size_mb=4096
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1

t0=$(date +%s)
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Debug -DSN_SANITIZE=ON -DSN_NATIVE=OFF -DSN_TEST_TIMEOUT=600 > "$B.configure.log" 2>&1 ||
  { cat "$B.configure.log"; exit 1; }
cmake --build "$B" -j"$JOBS" > "$B.build.log" 2>&1 || { tail -50 "$B.build.log"; exit 1; }
echo "sanitize: built in $(( $(date +%s) - t0 )) s"

# unit tests, every 2-rank test except the fault matrices, hostile inputs, fuzz regressions
ctest --test-dir "$B" -j"$JOBS" --output-on-failure \
  -R '(\.np2$|^fuzz\.regress)' -LE 'fault|slurm|unit' 
ctest --test-dir "$B" -j"$JOBS" --output-on-failure -L unit
ctest --test-dir "$B" --output-on-failure -R '^(hostile\.np2|fault\.checkpoint\.np2)$'
echo "sanitize: tests done at $(( $(date +%s) - t0 )) s"

# valgrind memcheck of every command at 1 rank, from a build without -march=native
if [ "${SN_VALGRIND:-1}" != 0 ]; then
  command -v valgrind >/dev/null || { echo "sanitize: valgrind is not installed (apt-get install valgrind)"; exit 1; }
  V=${SN_VALGRIND_BUILD:-build-valgrind}
  cmake -S . -B "$V" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSN_NATIVE=OFF > "$V.configure.log" 2>&1 ||
    { cat "$V.configure.log"; exit 1; }
  cmake --build "$V" -j"$JOBS" --target specnmf > "$V.build.log" 2>&1 || { tail -50 "$V.build.log"; exit 1; }
  ASAN_OPTIONS= ctest --test-dir "$V" --output-on-failure -R '^valgrind\.np1$'
  echo "sanitize: valgrind done at $(( $(date +%s) - t0 )) s"
fi

# short fuzz runs (libFuzzer from clang); skipped with a reason when unavailable
if [ "${FUZZ_SECONDS}" != 0 ]; then
  bash tests/fuzz/run_fuzz.sh "$FUZZ_SECONDS"
fi
echo "sanitize: finished in $(( $(date +%s) - t0 )) s"
