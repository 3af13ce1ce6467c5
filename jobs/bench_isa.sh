#!/bin/bash
# Kernel levels benchmark (not a test): a -DSN_NATIVE=ON tree against the
# default (portable, dispatched) tree in the same run, interleaved, medians of
# REPS. Rows: the NMF kernel bench (tests/bench_nmf_kernels: median CPU s of one
# pass, itself the median of 7 passes) and the whole `specnmf nmf` (rank-0 CPU
# s/iteration as specnmf prints it, V 1025 x N, k = 16, 1 rank; CPU time, since
# wall time on a shared machine measures the neighbours), for the native tree
# and each level of the default tree (SPECNMF_ISA; LEVELS="avx512" to run only
# some); the last column is the default (best) level's time / native's.
#   jobs/bench_isa.sh NATIVE_BUILD DEFAULT_BUILD  (env: N, ITERS, REPS, DATA, LEVELS)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
nat=$1; def=$2
N=${N:-100000}; ITERS=${ITERS:-20}; REPS=${REPS:-5}
DATA=${DATA:-/tmp/specnmf_bench_nmf_$N.h5}
PY=${SN_PYTHON:-/usr/bin/python3}
[ -f "$DATA" ] || "$PY" "$here/bench_nmf_data.py" "$DATA" "$N"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
levels=$("$def/specnmf" --version | sed 's/.*this CPU: \([^;]*\);.*/\1/')
best=${levels##* }
levels=${LEVELS:-$levels}
runs=("native:$nat:")
for l in $levels; do runs+=("$l:$def:$l"); done
for r in $(seq "$REPS"); do
  for spec in "${runs[@]}"; do
    IFS=: read -r name b isa <<< "$spec"
    SPECNMF_ISA=$isa "$b/tests/bench_nmf_kernels" "$N" 7 |
      awk -v n="$name" '{c = $0; sub(/ *min .*/, "", c); gsub(/ /, "-", c); m = $0; sub(/.*median /, "", m); sub(/ .*/, "", m); print n, "kernel:" c, m}' >> "$tmp/kern"
    for cfg in "mu fro" "cd fro" "mu kl"; do
      set -- $cfg
      SPECNMF_ISA=$isa "$b/specnmf" nmf "$DATA" -k 16 -o "$tmp/o.h5" --force --init random --tol 0 \
        --max-iter "$ITERS" --solver "$1" --beta "$2" --tile 64 2> "$tmp/log" >/dev/null
      echo "$name nmf-$1-$2-cpu $(grep -o 'cpu [0-9.]* s/iteration' "$tmp/log" | tail -1 | awk '{print $2}')" >> "$tmp/kern"
    done
  done
done
names="native $levels"
echo "| case (median of $REPS) | $(echo $names | sed 's/ / | /g') | $best / native |"
echo "|---|$(for n in $names; do printf -- '---|'; done)---|"
for c in $(awk '{print $2}' "$tmp/kern" | awk '!s[$0]++'); do
  row="| $c |"
  for n in $names; do
    m=$(awk -v n="$n" -v c="$c" '$1==n && $2==c {print $3}' "$tmp/kern" | median)
    row="$row $m |"; eval "m_$n=$m"
  done
  nv=$(eval echo \$m_native); bv=$(eval echo \$m_$best)
  echo "$row $(awk -v a="$bv" -v b="$nv" 'BEGIN {printf "%.3f", a / b}') |"
done
echo
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
