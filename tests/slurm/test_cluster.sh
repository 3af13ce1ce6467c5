#!/bin/bash
# The one-node test cluster works: a batch job with `srun hostname`, an MPI
# program started by `srun --mpi=pmix` and by `mpirun` inside sbatch, a job
# larger than the node is refused at once (EnforcePartLimits), and a signal
# sent to the batch shell reaches a trap. Runs in ~30 s.
set -u
here=$(cd "$(dirname "$0")" && pwd)
SN_CLUSTER_DEADLINE=${SN_CLUSTER_DEADLINE:-270}   # below the ctest TIMEOUT (300 s)
. "$here/cluster.sh"
: "${SN_TMP:=$(mktemp -d)}"; mkdir -p "$SN_TMP"
sn_cluster_start || exit 1
out=$SN_SLURM_DIR/out
fail=0
check() { # check WHAT CONDITION...
  local what=$1; shift
  if "$@"; then sn_log "ok: $what"; else sn_log "FAIL: $what"; fail=1; fi
}

# a tiny MPI program: each rank prints "rank R of N" after an allreduce
cat > "$SN_TMP/hello.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int r, n, s = 0, one = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &r); MPI_Comm_size(MPI_COMM_WORLD, &n);
  MPI_Allreduce(&one, &s, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  printf("rank %d of %d sum %d\n", r, n, s);
  MPI_Finalize();
  return 0;
}
EOF
mpicc -o "$SN_TMP/hello" "$SN_TMP/hello.c" || { sn_log "mpicc failed"; exit 1; }

# 1. srun hostname
j1=$(sn_submit -o "$out/j1.out" -n 2 -t 2 --wrap 'srun hostname')
# 2. srun --mpi=pmix of an MPI program
j2=$(sn_submit -o "$out/j2.out" -n 2 -t 2 --wrap "srun --mpi=pmix $SN_TMP/hello")
# 3. mpirun inside an sbatch allocation
j3=$(sn_submit -o "$out/j3.out" -n 2 -t 2 --export=ALL,OMPI_ALLOW_RUN_AS_ROOT=1,OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
     --wrap "mpirun --bind-to none --mca btl ^openib -n 2 $SN_TMP/hello")
# 4. too big for the node: refused at submit time, not left pending
if sbatch --parsable -n 3 -t 1 -o /dev/null --wrap true >"$SN_TMP/big.out" 2>&1; then
  check "job larger than the node refused" false
else
  check "job larger than the node refused ($(head -c 80 "$SN_TMP/big.out"))" true
fi
# 5. a signal to the batch shell (what --signal=B:USR1@N does) reaches its trap
j5=$(sn_submit -o "$out/j5.out" -n 1 -t 2 --wrap 'trap "echo got-usr1; exit 0" USR1; for i in $(seq 1 600); do sleep 0.1; done; echo no-signal')

for j in $j1 $j2 $j3; do sn_wait_job "$j" 120 || fail=1; done
sn_wait_state "$j5" RUNNING 60 && sleep 1 && scancel --batch --signal=USR1 "$j5"
sn_wait_job "$j5" 60 || fail=1

host=$(hostname -s)
check "srun hostname ran 2 tasks" [ "$(grep -cx "$host" "$out/j1.out" 2>/dev/null)" = 2 ]
check "srun --mpi=pmix: 2 ranks, allreduce 2" [ "$(grep -c 'of 2 sum 2' "$out/j2.out" 2>/dev/null)" = 2 ]
check "mpirun in sbatch: 2 ranks, allreduce 2" [ "$(grep -c 'of 2 sum 2' "$out/j3.out" 2>/dev/null)" = 2 ]
check "USR1 to the batch shell reached the trap" grep -q got-usr1 "$out/j5.out"
for j in $j1 $j2 $j3 $j5; do
  check "job $j COMPLETED with 0:0" [ "$(sn_job_field "$j" JobState) $(sn_job_field "$j" ExitCode)" = "COMPLETED 0:0" ]
done
if [ $fail -ne 0 ]; then
  for f in "$out"/*.out; do echo "== $f"; head -20 "$f"; done >&2
fi
exit $fail
