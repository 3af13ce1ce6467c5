#!/bin/bash
# The batch scripts in jobs/ run for real on a one-node test cluster.
# Part A (always): the job-script plumbing with a test double of the CLI
# (fake_specnmf.sh): separate.sbatch survives USR1 -> checkpoint -> exit 10 ->
# requeue -> --resume (signal sent by hand, with mpirun; and by Slurm's own
# --signal=B:USR1@N at the time limit, with srun), array.sbatch over a list
# (with one bad entry that must fail alone), strong_scaling.sbatch interrupted
# and requeued mid-study, weak_scaling.sbatch, and the CSV + PNGs from
# gather_reports.py.
# Part B (the real binary; a command missing from it fails the test):
# the same scripts with $SPECNMF on a small generated recording.
set -u
here=$(cd "$(dirname "$0")" && pwd)
jobs=$(cd "$here/../../jobs" && pwd)
SN_CLUSTER_DEADLINE=${SN_CLUSTER_DEADLINE:-1400}   # below the ctest TIMEOUT (1500 s)
. "$here/cluster.sh"
: "${SN_TMP:=$(mktemp -d)}"; mkdir -p "$SN_TMP"
sn_cluster_start || exit 1
W=$SN_SLURM_DIR/out
cd "$W" || exit 1
fail=0
check() { # check WHAT COMMAND...
  local what=$1; shift
  if "$@"; then sn_log "ok: $what"; else sn_log "FAIL: $what"; fail=1; fi
}
state_is() { [ "$(sn_job_field "$1" JobState)" = "$2" ]; }
restarts_ge() { [ "$(sn_job_field "$1" Restarts)" -ge "$2" ] 2>/dev/null; }
# wait until FILE contains PATTERN (deadline SECONDS)
wait_grep() {
  local pat=$1 file=$2 limit=$3 t0; t0=$(date +%s)
  until grep -q "$pat" "$file" 2>/dev/null; do
    [ $(( $(date +%s) - t0 )) -ge "$limit" ] && { sn_log "no '$pat' in $file after $limit s"; return 1; }
    sleep 0.5
  done
}
show_out() { for f in "$@"; do echo "==== $f"; tail -40 "$f"; done >&2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export SN_MPIRUN_FLAGS="--bind-to none --mca btl ^openib"
REAL=${SPECNMF:-}
FAKE=$here/fake_specnmf.sh

/usr/bin/python3 "$jobs/make_recording.py" "$W/rec1.wav" --seconds 4 --seed 1 2>/dev/null &&
/usr/bin/python3 "$jobs/make_recording.py" "$W/rec2.wav" --seconds 3 --seed 2 2>/dev/null &&
/usr/bin/python3 "$jobs/make_recording.py" "$W/rec3.flac" --seconds 2 --seed 3 2>/dev/null ||
  { sn_log "make_recording.py failed"; exit 1; }

# ---------------------------------------------------------------- part A
parts=" ${SN_SLURM_PARTS:-A B} "   # for development: run only part A or B
if [ "${parts#* A }" != "$parts" ]; then
sn_log "part A: job scripts with the CLI test double"
export SPECNMF=$FAKE

# A1: separate, USR1 by hand (as --signal=B:USR1 sends it), mpirun launcher
j=$(SN_LAUNCHER=mpirun FAKE_ITERS=40 FAKE_STEP=0.5 sn_submit -n 2 -t 10 -o "$W/a1.out" \
    "$jobs/separate.sbatch" "$W/rec1.wav" 4 "$W/a1")
sn_wait_state "$j" RUNNING 60 && wait_grep 'run start=0' "$W/a1/fake.log" 60 && sleep 3
scancel --batch --signal=USR1 "$j"
sn_wait_job "$j" 150
check "A1 separate (mpirun): COMPLETED after 1 restart" eval 'state_is $j COMPLETED && restarts_ge $j 1'
k=$(sed -n 's/^checkpoint at=//p' "$W/a1/fake.log" | head -1)
check "A1 checkpointed mid-run (iteration ${k:-none} of 40)" eval '[ -n "$k" ] && [ "$k" -gt 0 ] && [ "$k" -lt 40 ]' 
check "A1 resumed from the checkpoint (--resume, start=$k) and finished 40" \
  eval 'grep -q "^run start=$k " "$W/a1/fake.log" && grep -q "^done iters=40" "$W/a1/fake.log"'
check "A1 report written with exit_code 0" grep -q '"exit_code": 0' "$W/a1/report.json"
check "A1 log shows the requeue" grep -q 'requeueing job' "$W/a1.out"
check "A1 checkpoint file removed after the run" [ ! -e "$W/a1/nmf.ckpt.h5" ]
[ $fail = 0 ] || show_out "$W/a1.out" "$W/a1/fake.log"

# A1b: scancel (TERM to everything): checkpoint, no requeue; the same sbatch
# submitted again resumes from the checkpoint file
j=$(FAKE_ITERS=30 FAKE_STEP=0.5 sn_submit -n 2 -t 10 -o "$W/a1b.out" "$jobs/separate.sbatch" "$W/rec1.wav" 4 "$W/a1b")
sn_wait_state "$j" RUNNING 60 && wait_grep 'run start=0' "$W/a1b/fake.log" 60 && sleep 3
scancel "$j"
sn_wait_job "$j" 60
check "A1b cancelled job left its checkpoint and was not requeued" eval \
  '[ -s "$W/a1b/nmf.ckpt.h5" ] && [ "$(sn_job_field $j Restarts)" = 0 ] && ! grep -q "requeueing job" "$W/a1b.out"'
j=$(FAKE_ITERS=30 FAKE_STEP=0.5 sn_submit -n 2 -t 10 -o "$W/a1b-2.out" "$jobs/separate.sbatch" "$W/rec1.wav" 4 "$W/a1b")
sn_wait_job "$j" 120
k=$(sed -n 's/^checkpoint at=//p' "$W/a1b/fake.log" | head -1)
check "A1b resubmission resumed (--resume, start=${k:-none}) and finished 30" eval \
  'state_is $j COMPLETED && grep -q -- "--resume" "$W/a1b-2.out" && grep -q "^run start=$k " "$W/a1b/fake.log" && grep -q "^done iters=30" "$W/a1b/fake.log"'
[ $fail = 0 ] || show_out "$W/a1b.out" "$W/a1b-2.out" "$W/a1b/fake.log"

# A2: Slurm's own signal before the time limit (1 min, USR1 @30 s), srun
j=$(FAKE_ITERS=60 FAKE_STEP=1 sn_submit -n 2 -t 1 --signal=B:USR1@30 -o "$W/a2.out" \
    "$jobs/separate.sbatch" "$W/rec1.wav" 4 "$W/a2")
sn_wait_job "$j" 300
check "A2 separate (srun, --time=1 --signal=B:USR1@30): COMPLETED after $(sn_job_field "$j" Restarts) restart(s)" \
  eval 'state_is $j COMPLETED && restarts_ge $j 1'
check "A2 all 60 iterations done across runs" grep -q '^done iters=60' "$W/a2/fake.log"
check "A2 every restart resumed where the last stopped" /usr/bin/python3 - "$W/a2/fake.log" <<'EOF'
import sys
ev = [l.split() for l in open(sys.argv[1])]
ck = None
for e in ev:
    if e[0] == "run":
        start = int(e[1].split("=")[1])
        assert start == (ck if ck is not None else 0), (start, ck)
    elif e[0] == "checkpoint":
        ck = int(e[1].split("=")[1])
assert ev[-1][0] == "done" and ck is not None
EOF
[ $fail = 0 ] || show_out "$W/a2.out" "$W/a2/fake.log"

# A3: array over a list; entry 4 does not exist and must fail alone
printf '# recordings\nrec1.wav\n\nrec2.wav\n  rec3.flac  \nmissing.wav\n' > "$W/list.txt"
j=$(FAKE_ITERS=4 FAKE_STEP=0.2 sn_submit --array=1-4 -n 1 -t 10 -o "$W/a3-%a.out" \
    "$jobs/array.sbatch" "$W/list.txt" 3 "$W/a3")
sn_wait_job "$j" 120
for i in 1 2 3; do
  check "A3 array task $i COMPLETED" state_is "${j}_$i" COMPLETED
done
check "A3 outputs and reports for rec1, rec2, rec3" eval \
  'for r in rec1 rec2 rec3; do grep -q "\"exit_code\": 0" "$W/a3/$r/report.json" || exit 1; done'
check "A3 task 4 (missing recording) FAILED with a message" eval \
  'state_is ${j}_4 FAILED && grep -q "missing.wav: cannot read" "$W/a3-4.out"'

# A4: strong scaling, interrupted (USR1) during the study, requeued, finished
j=$(FAKE_ITERS=20 FAKE_STEP=0.4 SN_REPEATS=2 SN_RANKS_LIST="1 2" sn_submit -n 2 -t 10 -o "$W/a4.out" \
    "$jobs/strong_scaling.sbatch" "$W/rec1.wav" 4 "$W/a4")
sn_wait_state "$j" RUNNING 60 && wait_grep 'strong-nmf-p1-r2' "$W/a4.out" 90 && sleep 1
scancel --batch --signal=USR1 "$j"
sn_wait_job "$j" 240
check "A4 strong study COMPLETED after a requeue" eval 'state_is $j COMPLETED && restarts_ge $j 1'
check "A4 restart skipped measurements it had" grep -q 'have strong-nmf-p1-r1.json, skipping' "$W/a4.out"
check "A4 8 reports (stft, nmf x P=1,2 x 2 repeats)" [ "$(ls "$W"/a4/reports/strong-*.json 2>/dev/null | wc -l)" = 8 ]
check "A4 CSV has 8 rows + header" [ "$(wc -l < "$W/a4/strong.csv" 2>/dev/null)" = 9 ]
for p in speedup efficiency phases imbalance; do
  check "A4 strong_$p.png drawn" eval "[ -s '$W/a4/strong_$p.png' ] && head -c 8 '$W/a4/strong_$p.png' | grep -q PNG"
done
[ $fail = 0 ] || show_out "$W/a4.out"

# A5: weak scaling, synthetic recordings of 1 s per rank
j=$(FAKE_ITERS=10 FAKE_STEP=0.2 SN_REPEATS=1 sn_submit -n 2 -t 10 -o "$W/a5.out" \
    "$jobs/weak_scaling.sbatch" 1 4 "$W/a5")
sn_wait_job "$j" 180
check "A5 weak study COMPLETED" state_is "$j" COMPLETED
check "A5 4 reports (stft, nmf x P=1,2)" [ "$(ls "$W"/a5/reports/weak-*.json 2>/dev/null | wc -l)" = 4 ]
check "A5 weak.csv and weak_efficiency.png" eval "[ -s '$W/a5/weak.csv' ] && [ -s '$W/a5/weak_efficiency.png' ]"
[ $fail = 0 ] || show_out "$W/a5.out"

fi
# ---------------------------------------------------------------- part B
if [ "${parts#* B }" != "$parts" ]; then
sn_log "part B: job scripts with the real specnmf ($REAL)"
has_cmd() { # has_cmd CMD: the real binary exists and knows CMD
  if [ -z "$REAL" ] || [ ! -x "$REAL" ]; then echo "skip: no specnmf binary (SPECNMF='$REAL')"; return 1; fi
  if ! "$REAL" "$1" --help >"$SN_TMP/help-$1.txt" 2>&1; then
    echo "skip: '$REAL $1 --help' failed (command not there yet): $(head -c 120 "$SN_TMP/help-$1.txt")"; return 1
  fi
}
export SPECNMF=$REAL
# every command the scripts run exists now: a missing one fails the test
for c in stft nmf separate; do
  if ! msg=$(has_cmd $c); then sn_log "FAIL: $msg"; fail=1; fi
done
# options that fix the NMF work (no early stop), if the CLI has them
nmf_fixed=""
if has_cmd nmf >/dev/null; then
  grep -q -- '--max-iter' "$SN_TMP/help-nmf.txt" && nmf_fixed="$nmf_fixed --max-iter ${SN_TEST_NMF_ITERS:-60}"
  grep -q -- '--tol' "$SN_TMP/help-nmf.txt" && nmf_fixed="$nmf_fixed --tol 0"
fi
/usr/bin/python3 "$jobs/make_recording.py" "$W/long.wav" --seconds 20 --rate 22050 --seed 7 2>/dev/null

# B1: strong scaling of stft (and nmf) at 1 and 2 ranks
steps=""
if msg=$(has_cmd stft); then steps="stft"; else sn_log "B1 $msg"; fi
if [ -n "$steps" ] && msg=$(has_cmd nmf); then steps="stft nmf"; elif [ -n "$steps" ]; then sn_log "B1 nmf $msg"; fi
if [ -n "$steps" ]; then
  j=$(SN_STEPS="$steps" SN_REPEATS=1 SN_RANKS_LIST="1 2" SN_NMF_ARGS="$nmf_fixed" \
      sn_submit -n 2 -t 10 -o "$W/b1.out" "$jobs/strong_scaling.sbatch" "$W/long.wav" 4 "$W/b1")
  sn_wait_job "$j" 400
  check "B1 real strong study ($steps) COMPLETED" state_is "$j" COMPLETED
  n=$(( $(echo "$steps" | wc -w) * 2 ))
  check "B1 $n reports, all exit_code 0" eval \
    '[ "$(grep -l "\"exit_code\": 0" "$W"/b1/reports/strong-*.json 2>/dev/null | wc -l)" = $n ]'
  check "B1 reports say ranks 1 and 2" eval \
    'grep -q "\"ranks\": 2" "$W/b1/reports/strong-stft-p2-r1.json" && grep -q "\"ranks\": 1" "$W/b1/reports/strong-stft-p1-r1.json"'
  check "B1 strong.csv and plots" eval "[ -s '$W/b1/strong.csv' ] && [ -s '$W/b1/strong_phases.png' ]"
  [ $fail = 0 ] || show_out "$W/b1.out"
fi

# B2: nmf interrupted by USR1, requeued, resumed: same model as an uninterrupted run
t=""; msg=""
if msg=$(has_cmd nmf) && msg=$(has_cmd stft); then
  msg=""
  /usr/bin/python3 "$jobs/make_recording.py" "$W/b2.wav" --seconds 90 --rate 22050 --seed 8 2>/dev/null
  timeout 120 "$REAL" stft "$W/b2.wav" -o "$W/b2.h5" --quiet >"$W/b2-stft.out" 2>&1 || { sn_log "B2 stft failed"; cat "$W/b2-stft.out" >&2; fail=1; }
  # an uninterrupted reference run (outside Slurm), long enough to interrupt:
  # calibrate the iteration count from its report to ~8 s of iterations
  ref() { # ref ITERS: run the reference at 2 ranks, print "fixed_s per_iter_s"
    timeout 300 mpirun --allow-run-as-root --oversubscribe $SN_MPIRUN_FLAGS -n 2 -x OPENBLAS_NUM_THREADS=1 "$REAL" nmf "$W/b2.h5" \
      -k 8 -o "$W/b2-ref.h5" --force --quiet --report "$W/b2-ref.json" \
      ${nmf_fixed/--max-iter ${SN_TEST_NMF_ITERS:-60}/--max-iter $1} >"$W/b2-ref.out" 2>&1 || return 1
    /usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1])); ph = r["phases"]; n = max(int(r["facts"].get("n_iter", 1)), 1)
it = sum(ph[p]["max"] for p in ("nmf_w", "nmf_h", "loss", "allreduce") if p in ph)
print("%.3f %.6f" % (ph["total"]["max"] - it, it / n))' "$W/b2-ref.json"
  }
  iters=50
  if cal=$(ref $iters); then
    if [ -n "$nmf_fixed" ]; then
      iters=$(echo "$cal" | awk '{n = int(8 / ($2 > 1e-4 ? $2 : 1e-4)); print (n < 50 ? 50 : (n > 20000 ? 20000 : n))}')
      cal=$(ref $iters) || { sn_log "B2 reference nmf failed"; cat "$W/b2-ref.out" >&2; fail=1; cal=""; }
    fi
  else
    sn_log "B2 reference nmf failed"; cat "$W/b2-ref.out" >&2; fail=1; cal=""
  fi
  b2_args=${nmf_fixed/--max-iter ${SN_TEST_NMF_ITERS:-60}/--max-iter $iters}
  t_fixed=$(echo "$cal" | awk '{print $1 + 0}'); t=$(echo "$cal" | awk '{printf "%.1f", $2 * '"$iters"'}')
  sn_log "B2 reference (2 ranks): $iters iterations, ${t:-?} s of iterations + ${t_fixed:-?} s other ($b2_args)"
  # does nmf checkpoint on USR1 yet? (one rank, outside Slurm, USR1 once it iterates)
  "$REAL" nmf "$W/b2.h5" -k 8 -o "$W/b2-probe.h5" --force $b2_args >"$W/b2-probe.out" 2>&1 &
  probe=$!; ( sleep 180; kill -KILL $probe 2>/dev/null ) & killer=$!  # a deadline for the wait below
  wait_grep 'iteration 10' "$W/b2-probe.out" 60
  kill -USR1 $probe 2>/dev/null; wait $probe; prc=$?
  kill $killer 2>/dev/null; wait $killer 2>/dev/null
  rm -f "$W"/b2-probe.h5*
  if [ $prc = 0 ]; then
    sn_log "FAIL: B2 the probe run finished before its USR1 (too small a problem?)"; t=""; fail=1
  elif [ $prc != 10 ]; then
    sn_log "FAIL: B2 'specnmf nmf' did not checkpoint on SIGUSR1 (exit $prc, 138 = killed by it; expected 10): $(tail -c 200 "$W/b2-probe.out")"; t=""; fail=1
  fi
fi
if [ -n "${t:-}" ]; then
  cat > "$W/b2.sh" <<EOF
#!/bin/bash
# the resumable nmf step, as separate.sbatch runs its step
#SBATCH --requeue
#SBATCH --open-mode=append
trap 'SN_USR1_EARLY=1' USR1
set -u
. $jobs/sn_job_lib.sh
sn_setup
sn_run_step $W/b2-model \$SN_NTASKS nmf $W/b2.h5 -k 8 -o $W/b2-model.h5 --report $W/b2-report.json $b2_args
EOF
  j=$(sn_submit -n 2 -t 10 -o "$W/b2.out" "$W/b2.sh")
  # USR1 once the ranks iterate (the progress line every 10 iterations)
  sn_wait_state "$j" RUNNING 60 && wait_grep 'iteration 20' "$W/b2.out" 120
  scancel --batch --signal=USR1 "$j"
  sn_wait_job "$j" 400
  check "B2 real nmf: COMPLETED after a requeue" eval 'state_is $j COMPLETED && restarts_ge $j 1'
  check "B2 real nmf exited 10 on USR1 and resumed with --resume" eval \
    'grep -q "checkpointed" "$W/b2.out" && grep -q -- "--resume" "$W/b2.out"'
  check "B2 report exit_code 0" grep -q '"exit_code": 0' "$W/b2-report.json"
  check "B2 resumed model equals the uninterrupted one (every common dataset, rel. diff < 1e-3)" \
    /usr/bin/python3 - "$W/b2-model.h5" "$W/b2-ref.h5" <<'EOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
common = []
def visit(name, obj):
    if isinstance(obj, h5py.Dataset) and name in b and obj.dtype.kind == "f":
        common.append(name)
a.visititems(visit)
if not common:
    print("no common float datasets:", list(a), list(b)); sys.exit(1)
for n in common:
    x, y = a[n][()], b[n][()]
    err = np.linalg.norm(np.ravel(x - y)) / max(np.linalg.norm(np.ravel(y)), 1e-30)
    print(n, x.shape, "relative difference", err)
    assert x.shape == y.shape and err < 1e-3, n
EOF
  [ $fail = 0 ] || show_out "$W/b2.out" "$W/b2-ref.out"
elif [ -n "${msg:-}" ] && [ "${msg#skip}" != "$msg" ]; then
  sn_log "B2 $msg"
fi

# B4: separate.sbatch itself interrupted by USR1, requeued, resumed: same
# result as an uninterrupted separate
if msg=$(has_cmd separate) && [ -n "${t:-}" ]; then
  sep_args="${b2_args} --no-plot"
  timeout 300 mpirun --allow-run-as-root --oversubscribe $SN_MPIRUN_FLAGS -n 2 -x OPENBLAS_NUM_THREADS=1 "$REAL" separate "$W/b2.wav" \
    -k 8 -o "$W/b4-ref" --force --quiet $sep_args >"$W/b4-ref.out" 2>&1 || { sn_log "B4 reference separate failed"; fail=1; }
  j=$(SN_SEPARATE_ARGS="$sep_args" sn_submit -n 2 -t 10 -o "$W/b4.out" "$jobs/separate.sbatch" "$W/b2.wav" 8 "$W/b4")
  sn_wait_state "$j" RUNNING 60 && wait_grep 'iteration 20' "$W/b4.out" 120
  scancel --batch --signal=USR1 "$j"
  sn_wait_job "$j" 400
  check "B4 real separate.sbatch: COMPLETED after a requeue, resumed with --resume" eval \
    'state_is $j COMPLETED && restarts_ge $j 1 && grep -q -- "--resume" "$W/b4.out"'
  check "B4 checkpoint file gone after the resumed run" [ ! -e "$W/b4/nmf.ckpt.h5" ]
  check "B4 resumed result.h5 equals the uninterrupted one (every common float dataset, rel. diff < 1e-3)" \
    /usr/bin/python3 - "$W/b4/result.h5" "$W/b4-ref/result.h5" <<'EOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
common = []
a.visititems(lambda n, o: common.append(n) if isinstance(o, h5py.Dataset) and n in b and o.dtype.kind == "f" else None)
if not common:
    print("no common float datasets:", list(a), list(b)); sys.exit(1)
for n in common:
    x, y = a[n][()], b[n][()]
    err = np.linalg.norm(np.ravel(x - y)) / max(np.linalg.norm(np.ravel(y)), 1e-30)
    print(n, x.shape, "relative difference", err)
    assert x.shape == y.shape and err < 1e-3, n
EOF
  [ $fail = 0 ] || show_out "$W/b4.out" "$W/b4-ref.out"
elif [ -n "${msg:-}" ] && [ "${msg#skip}" != "$msg" ]; then
  sn_log "B4 $msg"
else
  sn_log "FAIL: B4 needs the B2 calibration (nmf with USR1 checkpoints)"; fail=1
fi

# B3: separate.sbatch and array.sbatch with the real separate
if msg=$(has_cmd separate); then
  j=$(sn_submit -n 2 -t 10 -o "$W/b3.out" "$jobs/separate.sbatch" "$W/long.wav" 3 "$W/b3")
  printf 'rec1.wav\nrec2.wav\n' > "$W/list-b.txt"
  ja=$(sn_submit --array=1-2 -n 1 -t 10 -o "$W/b3a-%a.out" "$jobs/array.sbatch" "$W/list-b.txt" 2 "$W/b3a")
  sn_wait_job "$j" 400; sn_wait_job "$ja" 400
  check "B3 real separate.sbatch COMPLETED, report exit_code 0" eval \
    'state_is $j COMPLETED && grep -q "\"exit_code\": 0" "$W/b3/report.json"'
  check "B3 real separate wrote 3 parts (component-NN.wav)" \
    [ "$(ls "$W"/b3/component-*.wav 2>/dev/null | wc -l)" = 3 ]
  check "B3 real array.sbatch: both tasks COMPLETED" eval 'state_is ${ja}_1 COMPLETED && state_is ${ja}_2 COMPLETED'
  [ $fail = 0 ] || show_out "$W/b3.out" "$W"/b3a-*.out
else
  sn_log "B3 $msg"
fi

fi
exit $fail
