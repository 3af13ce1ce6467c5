#!/bin/bash
# NMF benchmark (not a test): V 1025 x N float32 (default N = 100000), k = 16,
# specnmf at 1 and 2 ranks (mu-fro, cd, mu-kl; CFGS="NP SOLVER BETA;..." to
# choose, e.g. add "1 anls fro"), for each build given (rows named by the
# build folder and its BLAS), against sklearn 1.2 (2 threads) in the same run.
# Reports the median s/iteration of REPS runs, peak memory per rank and bytes
# reduced per iteration as a markdown table.
#   jobs/bench_nmf.sh [BUILD_DIR...]     (env: N, K, ITERS, REPS, DATA, MPIRUN, CFGS)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${N:-100000}; K=${K:-16}; ITERS=${ITERS:-20}; REPS=${REPS:-5}
CFGS=${CFGS:-1 mu fro;1 cd fro;1 mu kl;2 mu fro;2 cd fro;2 mu kl}
DATA=${DATA:-/tmp/specnmf_bench_nmf_$N.h5}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe --bind-to core}
PY=${SN_PYTHON:-/usr/bin/python3}
builds=("$@"); [ ${#builds[@]} -eq 0 ] && builds=(build)
[ -f "$DATA" ] || "$PY" "$here/bench_nmf_data.py" "$DATA" "$N"
export OPENBLAS_NUM_THREADS=1 BLIS_NUM_THREADS=1 OMP_NUM_THREADS=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "| what | ranks | wall s/iteration (median of $REPS) | rank-0 CPU s/iteration | peak MiB/rank | V block MiB | bytes reduced/iter |"
echo "|---|---|---|---|---|---|---|"
for b in "${builds[@]}"; do
  blas=$("$b/specnmf" --version | sed 's/.*BLAS: \([^,)]*\).*kernels: \([^;)]*\).*/\1, \2 kernels/')
  IFS=';' read -r -a cfgs <<< "$CFGS"
  for cfg in "${cfgs[@]}"; do
    set -- $cfg
    np=$1; solver=$2; beta=$3
    : > "$tmp/t"; : > "$tmp/c"
    for r in $(seq "$REPS"); do
      $MPIRUN -n "$np" "$b/specnmf" nmf "$DATA" -k "$K" -o "$tmp/o.h5" --force --init random --tol 0 \
        --max-iter "$ITERS" --solver "$solver" --beta "$beta" --tile 64 2> "$tmp/log" >/dev/null
      grep -o '[0-9.]* s/iteration$' "$tmp/log" | tail -1 | awk '{print $1}' >> "$tmp/t"
      grep -o 'cpu [0-9.]* s/iteration' "$tmp/log" | tail -1 | awk '{print $2}' >> "$tmp/c"
    done
    mem=$(grep -o 'peak memory per rank [0-9.]* MiB (largest V block [0-9.]*' "$tmp/log" | awk '{print $5, $10}')
    red=$(grep -o '[0-9]* bytes reduced per rank' "$tmp/log" | awk -v it="$ITERS" '{printf "%.0f", $1/(it+1)}')
    set -- $mem
    echo "| specnmf ${b##*/} ($blas) $solver-$beta | $np | $(median < "$tmp/t") | $(median < "$tmp/c") | $1 | $2 | $red |"
  done
done
for r in $(seq "$REPS"); do
  OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 "$PY" "$here/bench_nmf_sklearn.py" "$DATA" "$K" 10 mu:frobenius cd:frobenius mu:kullback-leibler
done > "$tmp/sk"
for s in "mu frobenius" "cd frobenius" "mu kullback-leibler"; do
  set -- $s
  t=$(awk -v s=$1 -v b=$2 '$2==s && $3==b {print $4}' "$tmp/sk" | median)
  m=$(awk -v s=$1 -v b=$2 '$2==s && $3==b {print $5}' "$tmp/sk" | sort -g | tail -1)
  c=$(awk -v s=$1 -v b=$2 '$2==s && $3==b {print $6}' "$tmp/sk" | median)
  echo "| sklearn 1.2 float32 $1-$2 (2 threads) | 1 | $t | $c (process, 2 threads) | $m | | |"
done
echo
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
