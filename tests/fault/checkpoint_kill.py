"""NMF checkpoints under SIGKILL, SIGTERM, SIGUSR1 and corruption (issue 7), at SN_NP ranks.

1. A reference run without interruption.
2. The same job SIGKILLed (the whole process group: mpirun and every rank) at
   random points after its first checkpoint, resumed with --resume, killed
   again, resumed to the end: W, H and the loss history must equal the
   reference bit for bit (same seed, ranks, build). After a kill, a file under
   the final name may only be the whole result (a run can end just as its kill
   lands): equal to the reference.
3. SIGTERM to every rank (as Slurm's scancel/time limit does), SIGTERM to
   one rank only, and SIGUSR1 to mpirun (which forwards it): exit code 10,
   exactly one error line, a checkpoint, no output; resuming ends equal to the
   reference.
4. Corrupted checkpoints: truncated (several lengths), bytes flipped inside
   the H data, in the loss history, and at random positions. Each must be
   refused with exactly one error line and a non-zero exit, or, when the flip
   hit bytes that carry nothing, the resumed result must equal the reference:
   never a silently different result.
Random points come from a seeded generator (SN_SEED, default 7) and are printed."""
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import soundfile as sf
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "py"))
from sn_testlib import kill_job, rank_pids  # noqa: E402  (SIGKILL mpirun and its ranks)

SPECNMF = os.environ["SPECNMF"]
MPIRUN = shlex.split(os.environ["SN_MPIRUN"])
NP = int(os.environ.get("SN_NP", "1"))
TMP = os.environ["SN_TMP"]
RNG = random.Random(int(os.environ.get("SN_SEED", "7")))
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)


def t(name):
    return os.path.join(TMP, name)


def cmdline(args):
    return MPIRUN + [SPECNMF] + [str(a) for a in args]


def run(args, timeout=120):
    p = subprocess.run(cmdline(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stderr


def error_lines(err):
    return [l for l in err.splitlines() if l.startswith("specnmf: error:")]


def wait_for(path, p, limit=60):
    t0 = time.time()
    while not os.path.exists(path):
        if p.poll() is not None or time.time() - t0 > limit:
            return False
        time.sleep(0.02)
    return True


def load(path):
    with h5py.File(path, "r") as f:
        return f["/nmf/W"][...], f["/nmf/H"][...], f["/nmf/loss"][...], int(f["/nmf"].attrs["n_iter"])


def same_as_ref(path, what):
    if not os.path.exists(path):
        check(False, f"{what}: output exists")
        return
    W, H, L, n = load(path)
    check(n == REF[3], f"{what}: {n} iterations as the reference ({REF[3]})")
    eq = W.shape == REF[0].shape and H.shape == REF[1].shape and np.array_equal(W, REF[0]) and \
        np.array_equal(H, REF[1])
    dw = float(np.max(np.abs(W - REF[0])) / np.max(np.abs(REF[0]))) if W.shape == REF[0].shape else -1
    dh = float(np.max(np.abs(H - REF[1])) / np.max(np.abs(REF[1]))) if H.shape == REF[1].shape else -1
    check(eq, f"{what}: W and H bit-identical to the uninterrupted run (max rel diff W {dw:.2e}, H {dh:.2e})")
    check(L.shape == REF[2].shape and np.array_equal(L, REF[2]), f"{what}: same loss history")


# ---- data: 20 s at 8 kHz, n_fft 512 -> 257 bins x 1251 frames ----------------------
sr = 8000
n = np.arange(sr * 20)
y = sum(0.2 * np.sin(2 * np.pi * f * n / sr) * (((n // (sr // 2 + k * 977)) % 2) == 0)
        for k, f in enumerate([220, 330, 440, 660, 880, 1200]))
y = y + 0.01 * np.random.default_rng(3).standard_normal(len(n))
sf.write(t("long.wav"), y.astype(np.float32), sr, subtype="FLOAT")
rc, err = run(["stft", t("long.wav"), "-o", t("spec.h5"), "--n-fft", "512", "--hop", "128", "-q"])
assert rc == 0, err

ITER = 1000
EVERY = 20
BASE = ["nmf", t("spec.h5"), "-k", "8", "--max-iter", str(ITER), "--tol", "0", "--init", "random", "--seed", "5",
        "--beta", "kl", "--checkpoint-every", str(EVERY), "-q"]

t0 = time.time()
rc, err = run(BASE + ["-o", t("ref.h5"), "--checkpoint", t("ref.ckpt.h5")])
T_REF = time.time() - t0
check(rc == 0, f"reference run ({T_REF:.1f} s)")
if rc:
    print(err)
    sys.exit(1)
REF = load(t("ref.h5"))
check(not os.path.exists(t("ref.ckpt.h5")), "a finished run removes its checkpoint")


# ---- 2. SIGKILL at random points, resume, kill again, resume to the end --------------
def start(args):
    return subprocess.Popen(cmdline(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


out, ckpt = t("killed.h5"), t("killed.ckpt.h5")
args = BASE + ["-o", out, "--checkpoint", ckpt]
kills = 0
# Kill points spread over the run, scaled by the reference's time (a fast
# build finished 400 iterations within a fixed 1.2 s window); a first run that
# still ends before its kill is run again with a shorter window.
scale = 0.35
for attempt in range(5):
    resume = ["--resume"] if os.path.exists(ckpt) else []
    p = start(args + resume)
    if not resume and not wait_for(ckpt, p):
        check(False, "killed run: a first checkpoint appears")
        break
    delay = RNG.uniform(0.02, scale) * T_REF
    time.sleep(delay)
    if p.poll() is not None:
        print(f"run {attempt} finished before the kill at +{delay:.2f} s")
        p.communicate()
        if kills == 0 and not resume and os.path.exists(out):
            os.remove(out)  # try again, killing sooner
            scale *= 0.5
            continue
        break
    kill_job(p)
    p.communicate()
    time.sleep(0.2)
    check(not rank_pids(p.pid), f"SIGKILL at +{delay:.2f} s{' after resume' if resume else ' after the first checkpoint'}: no rank survives")
    if os.path.exists(out):
        # The run ended between the poll above and the kill (seen in CI at 3
        # ranks under load). A file under the final name must then be whole:
        # the same as the reference.
        print(f"run {attempt} finished as the kill at +{delay:.2f} s landed")
        same_as_ref(out, "a run that ended as the kill landed")
        if kills == 0 and not resume:
            for x in (out, ckpt):
                if os.path.exists(x):
                    os.remove(x)
            scale *= 0.5
            continue
        break
    kills += 1
    check(os.path.exists(ckpt), f"SIGKILL {kills}: a checkpoint to resume from")
    with h5py.File(ckpt, "r") as f:
        it = int(f["/checkpoint/loss"].attrs["iter"])
    check(it % EVERY == 0 and 0 < it <= ITER, f"SIGKILL {kills}: checkpoint at iteration {it}")
for n_left in os.listdir(TMP):
    if ".tmp-" in n_left:
        os.remove(t(n_left))  # a killed writer's temporary file: never under the final name
if os.path.exists(out) and not os.path.exists(ckpt):
    rc, err = 0, ""  # a resumed run ended before its kill: that was the resume to the end
else:
    rc, err = run(args + (["--resume"] if os.path.exists(ckpt) else []))
check(rc == 0, f"resume after {kills} kill(s) finishes (exit {rc})" + ("" if rc == 0 else "\n" + err))
check(kills >= 1, f"the job was killed at least once ({kills})")
same_as_ref(out, "killed and resumed")
check(not os.path.exists(ckpt), "the finished resumed run removes its checkpoint")


# ---- 3. SIGTERM / SIGUSR1: clean checkpoint and exit 10 ------------------------------
def interrupt(label, how):
    out, ckpt = t(f"{label}.h5"), t(f"{label}.ckpt.h5")
    a = BASE + ["-o", out, "--checkpoint", ckpt]
    p = start(a)
    wait_for(ckpt, p)
    time.sleep(RNG.uniform(0.0, 0.5))
    pids = sorted(rank_pids(p.pid))
    if how == "term-all":
        for q in pids:
            os.kill(q, signal.SIGTERM)
    elif how == "term-one":
        os.kill(pids[-1], signal.SIGTERM)
    elif how == "usr1-mpirun":
        os.kill(p.pid, signal.SIGUSR1)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        kill_job(p)
        _, err = p.communicate()
        check(False, f"{label}: HANG after the signal")
        return
    lines = error_lines(err)
    check(p.returncode == 10, f"{label}: exit code 10 (got {p.returncode})")
    check(len(lines) == 1 and "interrupted" in lines[0], f"{label}: one error line {lines}")
    check(not os.path.exists(out), f"{label}: no output under the final name")
    check(os.path.exists(ckpt), f"{label}: checkpoint written")
    rc, err = run(a + ["--resume"])
    check(rc == 0, f"{label}: resume finishes" + ("" if rc == 0 else "\n" + err))
    same_as_ref(out, f"{label} then resumed")


interrupt("sigterm-all", "term-all")
if NP > 1:
    interrupt("sigterm-one", "term-one")
interrupt("sigusr1-mpirun", "usr1-mpirun")

# ---- 4. corrupted checkpoints --------------------------------------------------------
# A good checkpoint to damage: SIGTERM a run.
good = t("good.ckpt.h5")
p = start(BASE + ["-o", t("g.h5"), "--checkpoint", good])
wait_for(good, p)
time.sleep(0.3)
for q in rank_pids(p.pid):
    os.kill(q, signal.SIGTERM)
p.communicate(timeout=60)
check(p.returncode == 10 and os.path.exists(good), "a checkpoint to damage")
data = open(good, "rb").read()
with h5py.File(good, "r") as f:
    def offsets(name):
        d = f[name]
        if d.chunks:
            return [d.id.get_chunk_info(i).byte_offset for i in range(d.id.get_num_chunks())], d.id.get_storage_size()
        return [d.id.get_offset()], d.id.get_storage_size()
    h_off, h_size = offsets("/nmf/H")
    w_off, w_size = offsets("/nmf/W")
    l_off, l_size = offsets("/checkpoint/loss")

cases = []
for frac in (0.0, 0.1, 0.5, 0.9, 0.999):
    cases.append((f"truncated to {frac:.1%}", data[:int(len(data) * frac)]))


def flipped(pos, mask=0xFF):
    b = bytearray(data)
    b[pos] ^= mask
    return bytes(b)


cases.append(("flipped byte in H data", flipped(h_off[0] + min(h_size - 1, 4 * 8 * 3 + 1))))
cases.append(("flipped low mantissa bit in H data", flipped(h_off[0] + 4 * 8 * 10, 0x01)))
cases.append(("flipped byte in W data", flipped(w_off[0] + 7)))
cases.append(("flipped byte in the loss history", flipped(l_off[0] + 3)))
for k in range(8):
    pos = RNG.randrange(len(data))
    cases.append((f"flipped byte at random offset {pos}", flipped(pos)))
cases.append(("zero-filled", bytes(len(data))))
cases.append(("not HDF5", b"garbage\n" * 100))

refused = silent_ok = 0
for label, blob in cases:
    ck, out = t("bad.ckpt.h5"), t("bad.h5")
    for x in (ck, out):
        if os.path.exists(x):
            os.remove(x)
    with open(ck, "wb") as f:
        f.write(blob)
    try:
        rc, err = run(BASE + ["-o", out, "--checkpoint", ck, "--resume"], timeout=90)
    except subprocess.TimeoutExpired:
        check(False, f"corrupt checkpoint ({label}): HANG")
        continue
    lines = error_lines(err)
    if rc == 0:
        # accepted: only fine if the bytes carried nothing, i.e. the result is the reference
        silent_ok += 1
        W, H, L, n_it = load(out)
        check(np.array_equal(W, REF[0]) and np.array_equal(H, REF[1]),
              f"corrupt checkpoint ({label}): accepted, and the result equals the reference (the flip hit unused bytes)")
    else:
        refused += 1
        check(rc in (3, 4) and len(lines) == 1 and not os.path.exists(out),
              f"corrupt checkpoint ({label}): refused, exit {rc}, {lines}")
check(refused >= 9, f"{refused} of {len(cases)} corrupted checkpoints refused, {silent_ok} harmless flips accepted")

print(f"{len(FAILS)} failed checks" if FAILS else "all checks passed")
sys.exit(1 if FAILS else 0)
