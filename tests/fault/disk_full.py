"""A full disk, before and during the collective writes, at SN_NP ranks.

Writes go to a 64 MiB tmpfs mounted under SN_TMP (needs root: the test skips
with exit 77 otherwise, and fails in CI). Two ways the disk fills:
  - before the run: a file leaves 3 MiB free; the free-space check refuses;
  - during the run: SPECNMF_FAULT_FILL=N makes rank 0 fill the file system
    right before the Nth collective data write (src/sn_base.h) - another job
    filling the disk at the worst moment. Swept over N for stft, nmf with
    --checkpoint-every and separate.
Every run must end within 60 s (launch limit 90 s) either well (exit 0, outputs
complete: a fill after the last allocation is harmless, the space was
reserved) or with exit 4 (I/O error), exactly one "specnmf: error:" line, no
output under its final name, no temporary file (*.tmp-*). An nmf
that fails at a later checkpoint keeps the previous one, and --resume
finishes from it once there is room again."""
import glob
import os
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "py"))
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from sn_testlib import MPIRUN, NP, SPECNMF, TMP, check, error_lines, finish  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "py"))
from sn_testlib import kill_job  # noqa: E402  (SIGKILL mpirun and its ranks)

MNT = os.path.join(TMP, "mnt")
LIMIT = 60.0


def launch(args, fill=None, timeout=90):
    env = dict(os.environ)
    env.pop("SPECNMF_FAULT_FILL", None)
    cmd = list(MPIRUN)
    if fill is not None:
        env["SPECNMF_FAULT_FILL"] = str(fill)
        cmd[1:1] = ["-x", "SPECNMF_FAULT_FILL"]
    cmd += [SPECNMF] + [str(a) for a in args]
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, err, time.time() - t0
    except subprocess.TimeoutExpired:
        kill_job(p)
        out, err = p.communicate()
        return None, err, time.time() - t0


def temporaries():
    return sorted(os.path.relpath(f, MNT) for f in glob.glob(os.path.join(MNT, "**", "*"), recursive=True)
                  if ".tmp-" in f)


def clear_mnt():
    subprocess.run(["sh", "-c", f"rm -rf {shlex.quote(MNT)}/* {shlex.quote(MNT)}/.[!.]*"], check=False)


def outcome(label, rc, err, sec, finals, ckpt_ok=None):
    """rc 0: every final output exists; rc 4: one line, no final output. Never a hang or a leftover."""
    lines = error_lines(err)
    check(rc in (0, 4), f"{label}: exit {rc} in {sec:.1f} s (0 or 4)")
    check(sec < LIMIT, f"{label}: ended within {LIMIT:.0f} s ({sec:.1f} s)")
    if rc == 0:
        missing = [f for f in finals if not os.path.exists(f)]
        check(not missing and not lines, f"{label}: completed with every output (missing {missing})")
    else:
        check(len(lines) == 1, f"{label}: one error line: {lines if lines else err[-400:]}")
        present = [f for f in finals if os.path.exists(f)]
        check(not present, f"{label}: no output under its final name ({present})")
    check(not temporaries(), f"{label}: no temporary file left ({temporaries()})")
    print(f"     {label}: rc {rc}, {sec:.1f} s: {lines[0] if lines else ''}", flush=True)
    return lines


def fill_leaving(free_bytes):
    st = os.statvfs(MNT)
    avail = st.f_bavail * st.f_frsize
    with open(os.path.join(MNT, "filler"), "wb") as f:
        left = max(0, avail - free_bytes)
        chunk = b"\0" * (1 << 20)
        while left > 0:
            n = min(left, len(chunk))
            f.write(chunk[:n])
            left -= n


def main():
    os.makedirs(MNT, exist_ok=True)
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", MNT]).returncode:
        print("SKIP: mounting a tmpfs needs root")
        if os.environ.get("CI") == "true":
            print("FAIL: skipping is not allowed in CI")
            sys.exit(1)
        sys.exit(77)
    try:
        run_cases()
    finally:
        subprocess.run(["umount", "-l", MNT])
    finish()


def run_cases():
    sr = 22050
    n = np.arange(sr * 20)
    y = 0.3 * np.sin(2 * np.pi * 440 * n / sr) + 0.2 * np.sin(2 * np.pi * 1250 * n / sr) * (n > sr * 10)
    y += 0.01 * np.random.default_rng(1).standard_normal(len(n))
    a = os.path.join(TMP, "a.wav")
    sf.write(a, y.astype(np.float32), sr, subtype="FLOAT")
    spec = os.path.join(TMP, "spec.h5")
    rc, err, _ = launch(["stft", a, "--n-fft", "1024", "-o", spec, "--quiet"])
    if rc != 0:
        print(err)
        sys.exit(1)

    # 1. Nearly full before the run: refused by the free-space check.
    out = os.path.join(MNT, "s.h5")
    fill_leaving(3 << 20)
    rc, err, sec = launch(["stft", a, "--complex", "-o", out, "--quiet"])
    lines = outcome(f"stft into a nearly full tmpfs, {NP} ranks", rc, err, sec, [out])
    check(rc == 4 and lines and "no space left" in lines[0], "stft refused by the free-space check")
    clear_mnt()

    # 2. The disk fills right before the Nth data write: stft (2 datasets).
    for k in (1, 2, 3):
        rc, err, sec = launch(["stft", a, "--complex", "-o", out, "--quiet"], fill=k)
        outcome(f"stft, disk fills before data write {k}", rc, err, sec, [out])
        if k < 3:
            check(rc == 4, f"stft, fill {k}: refused")
        clear_mnt()

    # 3. nmf with checkpoints every 5 iterations (4 data writes each): the
    # fill before write 5 hits the second checkpoint; the first one stays.
    model = os.path.join(MNT, "model.h5")
    ck = os.path.join(MNT, "model.h5.ckpt.h5")
    base = ["nmf", spec, "-k", "3", "--max-iter", "20", "--tol", "0", "--checkpoint-every", "5", "-o", model, "--quiet"]
    for k in (1, 5, 13):
        rc, err, sec = launch(base, fill=k)
        outcome(f"nmf --checkpoint-every 5, disk fills before data write {k}", rc, err, sec, [model])
        check(rc == 4, f"nmf, fill {k}: refused")
        if k > 4:
            check(os.path.exists(ck), f"nmf, fill {k}: the last good checkpoint is kept")
            import h5py
            with h5py.File(ck, "r") as f:
                it = int(f["/checkpoint/loss"].attrs["iter"])
            check(it == 5 * ((k - 1) // 4), f"nmf, fill {k}: checkpoint at iteration {it}")
            for fill in glob.glob(os.path.join(MNT, "sn-fill.*")):
                os.remove(fill)
            rc, err, sec = launch(base + ["--resume"])
            check(rc == 0 and os.path.exists(model), f"nmf, fill {k}: --resume finishes once there is room ({rc}, {sec:.1f} s)")
        clear_mnt()

    # 4. separate: checkpoints, result.h5, one WAV per part (preallocated), overview.png.
    sep = os.path.join(MNT, "sep")
    sbase = ["separate", a, "-k", "2", "--n-fft", "1024", "--max-iter", "10", "--tol", "0", "--checkpoint-every", "5",
             "-o", sep, "--quiet"]
    rc, err, sec = launch(sbase)
    check(rc == 0, f"separate without a fault: rc {rc} ({err[-300:]})")
    finals = sorted(glob.glob(os.path.join(sep, "*.wav")) + glob.glob(os.path.join(sep, "*.h5"))
                    + glob.glob(os.path.join(sep, "*.png")))
    finals = [f for f in finals if not f.endswith(".ckpt.h5")]
    print("     separate writes:", [os.path.basename(f) for f in finals])
    clear_mnt()
    refused = 0
    for k in range(1, 12):
        rc, err, sec = launch(sbase, fill=k)
        outcome(f"separate, disk fills before data write {k}", rc, err, sec, finals)
        refused += rc == 4
        clear_mnt()
    check(refused >= 3, f"separate: {refused} of the 11 fills refused the run")


if __name__ == "__main__":
    main()
