"""Checkpoints of specnmf nmf at SN_NP ranks:
 - a run stopped by a (simulated, on one rank) signal at iteration 25 exits with
   SN_ERR_INTERRUPTED (10), writes no output, leaves a checkpoint; --resume
   ends with exactly the W, H, n_iter and loss of an uninterrupted run;
 - a real SIGUSR1 sent to the launcher during a long run: checkpoint, exit 10,
   resume to a fixed iteration equals an uninterrupted run to that iteration;
 - a corrupted checkpoint (one H entry changed) is refused (checksum);
 - resuming with other options or other data is refused."""
import os
import signal
import subprocess
import time
import h5py
import numpy as np
import nmf_common as C

ck = C.Checker()
T = C.TMP
V = C.spectrogram(65, 300, seed=2)
C.write_spec(f"{T}/v.h5", V)
V2 = V.copy()
V2[3, 7] += 1.0
C.write_spec(f"{T}/v2.h5", V2)
base = ["-k", "5", "--init", "random", "--seed", "5", "--beta", "kl", "--tol", "1e-9", "--force"]

C.run([f"{T}/v.h5", "-o", f"{T}/ref.h5", "--max-iter", "60"] + base)
ref = C.read_model(f"{T}/ref.h5")

ckpt = f"{T}/run.ckpt.h5"
p = C.run([f"{T}/v.h5", "-o", f"{T}/run.h5", "--max-iter", "60", "--checkpoint", ckpt, "--checkpoint-every", "10"] + base,
          check=False, env={"SPECNMF_FAULT": f"nmf_signal:{C.NP - 1}", "SPECNMF_FAULT_ITER": "25"})
ck.check(p.returncode == 10 and "interrupted" in p.stderr and not os.path.exists(f"{T}/run.h5")
         and os.path.exists(ckpt), f"simulated signal: exit {p.returncode}, checkpoint written, no output")
with h5py.File(ckpt, "r") as f:
    it = int(f["/checkpoint/loss"].attrs["iter"])
ck.check(it == 25, f"checkpoint holds iteration {it} (25)")
C.run([f"{T}/v.h5", "-o", f"{T}/run.h5", "--max-iter", "60", "--checkpoint", ckpt, "--resume"] + base)
m = C.read_model(f"{T}/run.h5")
ck.check(np.array_equal(m["W"], ref["W"]) and np.array_equal(m["H"], ref["H"])
         and m["attrs"]["n_iter"] == ref["attrs"]["n_iter"] and m["attrs"]["loss"] == ref["attrs"]["loss"]
         and np.array_equal(m["loss"], ref["loss"]),
         f"resumed run equals the uninterrupted one exactly (rel W {C.rel(m['W'], ref['W']):.1e}, H {C.rel(m['H'], ref['H']):.1e})")
ck.check(not os.path.exists(ckpt), "checkpoint removed after a completed run")

# a real signal to the launcher, during a long run
big = C.spectrogram(65, 3000, seed=3)
C.write_spec(f"{T}/big.h5", big)
ck2 = f"{T}/big.ckpt.h5"
args = [f"{T}/big.h5", "-o", f"{T}/big.h5.out", "-k", "5", "--init", "random", "--tol", "0", "--force",
        "--checkpoint", ck2]
cmd = ([C.SPECNMF] if not C.MPIRUN else C.MPIRUN + [C.SPECNMF]) + ["nmf"] + args + ["--max-iter", "1000000"]
env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
# signal only once the solver runs (its first progress line): a fixed sleep lost
# the race under load (a sanitizer build got SIGUSR1 before its handler: exit 138)
head, t_end = [], time.time() + 120
while time.time() < t_end:
    line = proc.stderr.readline()
    if not line:
        break
    head.append(line)
    if "nmf: iteration" in line:
        break
time.sleep(0.5)
proc.send_signal(signal.SIGUSR1)
try:
    out, err = proc.communicate(timeout=60)
    err = "".join(head) + err
except subprocess.TimeoutExpired:
    proc.kill()
    out, err = proc.communicate()
ok = proc.returncode == 10 and os.path.exists(ck2)
it = -1
if ok:
    with h5py.File(ck2, "r") as f:
        it = int(f["/checkpoint/loss"].attrs["iter"])
ck.check(ok and it > 0, f"SIGUSR1: exit {proc.returncode}, checkpoint at iteration {it}")
if ok:
    stop = it + 15
    C.run(args + ["--max-iter", str(stop), "--resume"])
    m = C.read_model(f"{T}/big.h5.out")
    C.run([a if a != ck2 else f"{T}/other.ckpt.h5" for a in args] + ["--max-iter", str(stop), "-o", f"{T}/bigref.h5"])
    r = C.read_model(f"{T}/bigref.h5")
    ck.check(np.array_equal(m["W"], r["W"]) and np.array_equal(m["H"], r["H"]),
             f"resume after SIGUSR1 to iteration {stop} equals an uninterrupted run (rel W {C.rel(m['W'], r['W']):.1e})")

# corrupted and mismatched checkpoints
os.remove(f"{T}/run.h5")
p = C.run([f"{T}/v.h5", "-o", f"{T}/run.h5", "--max-iter", "60", "--checkpoint", ckpt, "--checkpoint-every", "10"] + base,
          check=False, env={"SPECNMF_FAULT": "nmf_signal:0", "SPECNMF_FAULT_ITER": "25"})
with h5py.File(ckpt, "r+") as f:
    orig = f["/nmf/H"][2, 11]
    f["/nmf/H"][2, 11] = orig + np.float32(0.5)
p = C.run([f"{T}/v.h5", "-o", f"{T}/run.h5", "--max-iter", "60", "--checkpoint", ckpt, "--resume"] + base, check=False)
ck.check(p.returncode == 3 and "checksum" in p.stderr and not os.path.exists(f"{T}/run.h5"),
         f"corrupted checkpoint refused: exit {p.returncode}: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ''}")
with h5py.File(ckpt, "r+") as f:
    f["/nmf/H"][2, 11] = orig
p = C.run([f"{T}/v.h5", "-o", f"{T}/run.h5", "--max-iter", "60", "--checkpoint", ckpt, "--resume",
           "-k", "5", "--init", "random", "--seed", "5", "--beta", "is", "--tol", "1e-9", "--force"], check=False)
ck.check(p.returncode != 0 and "other data or options" in p.stderr, "resume with another --beta refused")
p = C.run([f"{T}/v2.h5", "-o", f"{T}/run.h5", "--max-iter", "60", "--checkpoint", ckpt, "--resume"] + base, check=False)
ck.check(p.returncode != 0 and "other data or options" in p.stderr, "resume with other data refused")
p = C.run([f"{T}/v.h5", "-o", f"{T}/run.h5", "--max-iter", "60", "--checkpoint", ckpt, "--resume"] + base)
m = C.read_model(f"{T}/run.h5")
ck.check(np.array_equal(m["W"], ref["W"]), "the restored checkpoint resumes to the reference")
ck.done()
