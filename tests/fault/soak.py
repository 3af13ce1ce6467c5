"""Soak test: RUNS (default 100) consecutive small `specnmf separate --force`
runs into one output folder at SN_NP ranks, each with a fault drawn from a
fixed seed (SN_SOAK_SEED, default 7): none, SPECNMF_FAULT=phase:rank (an agreed
failure) or phase:rank:crash (that rank _exits: mpirun ends the others).
Checked for every run: it ends within its 60 s limit (a hang fails the test),
the exit code matches the fault (0, 9 or 1; 0 when the phase has no fault
point), exactly one error line for an agreed failure, no final output after a
failure; after every run that got past its output folder, no temporary file
(*.tmp-*) is left in it - the leftovers of the crashed runs before
it included, which --force removes. The peak RSS of each run (largest of
mpirun and its ranks, from wait4) must stay stable: the median of the last
10 successful runs within 25 % of the first 10. Not in the default ctest run
(label soak; configure with -DSN_SOAK=ON, then ctest -L soak)."""
import glob
import os
import random
import shlex
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "py"))
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "py"))
from sn_testlib import kill_job  # noqa: E402  (SIGKILL mpirun and its ranks)

SPECNMF = os.environ["SPECNMF"]
MPIRUN = shlex.split(os.environ["SN_MPIRUN"])
NP = int(os.environ.get("SN_NP", "3"))
TMP = os.environ["SN_TMP"]
RUNS = int(os.environ.get("SN_SOAK_RUNS", "100"))
SEED = int(os.environ.get("SN_SOAK_SEED", "7"))
LIMIT = 60.0
PHASES = ["read", "plan", "stft", "init", "allreduce", "nmf_iter", "nmf_iter2", "checkpoint", "istft", "plot",
          "write", "total"]
FAILS = []


def check(cond, what):
    if not cond:
        print("FAIL " + what, flush=True)
        FAILS.append(what)


def launch(args, fault):
    """Run under mpirun; returns (rc or None on a hang, stderr, seconds, peak RSS in MiB)."""
    env = dict(os.environ)
    env.pop("SPECNMF_FAULT", None)
    if fault:
        env["SPECNMF_FAULT"] = fault
    cmd = MPIRUN + [SPECNMF] + args
    with tempfile.TemporaryFile("w+") as errf:
        t0 = time.time()
        pid = os.posix_spawn(cmd[0] if os.path.isabs(cmd[0]) else _which(cmd[0]), cmd, env,
                             file_actions=[(os.POSIX_SPAWN_DUP2, errf.fileno(), 2),
                                           (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)],
                             setsid=True)
        rc, ru = None, None
        while time.time() - t0 < LIMIT:
            wpid, status, ru = os.wait4(pid, os.WNOHANG)
            if wpid == pid:
                rc = os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.05)
        if rc is None:
            kill_job(pid)
            _, _, ru = os.wait4(pid, 0)
        sec = time.time() - t0
        errf.seek(0)
        err = errf.read()
    # ru_maxrss of a waited child covers its own waited children (the ranks): KiB on Linux
    return rc, err, sec, ru.ru_maxrss / 1024.0


def _which(name):
    for d in os.environ.get("PATH", "").split(":"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return name


def temporaries(out):
    return sorted(os.path.basename(f) for f in glob.glob(os.path.join(out, "*")) if ".tmp-" in f)


def finals(out):
    return sorted(f for f in glob.glob(os.path.join(out, "*.wav")) + glob.glob(os.path.join(out, "*.png"))
                  + glob.glob(os.path.join(out, "*.h5")) if not f.endswith(".ckpt.h5"))


def main():
    sr = 8000
    n = np.arange(sr)
    y = 0.5 * np.sin(2 * np.pi * 440 * n / sr) + 0.3 * np.sin(2 * np.pi * 1250 * n / sr) * (n > sr // 2)
    y += 0.01 * np.random.default_rng(1).standard_normal(len(n))
    a = os.path.join(TMP, "a.wav")
    sf.write(a, y.astype(np.float32), sr, subtype="FLOAT")
    out = os.path.join(TMP, "sep")
    base = ["separate", a, "-k", "3", "--n-fft", "256", "--max-iter", "20", "--tol", "0", "--checkpoint-every", "5",
            "--force", "--quiet", "-o", out]
    rnd = random.Random(SEED)
    rss_ok, kinds, hangs, crashed_left = [], {"none": 0, "fault": 0, "crash": 0}, 0, 0
    t_all = time.time()
    for i in range(RUNS):
        u = rnd.random()
        phase, rank = rnd.choice(PHASES), rnd.randrange(NP)
        kind = "none" if u < 0.3 else ("fault" if u < 0.7 else "crash")
        fault = None if kind == "none" else f"{phase}:{rank}" + (":crash" if kind == "crash" else "")
        kinds[kind] += 1
        for f in finals(out):  # a failed run must not leave one; earlier runs' are not its own
            os.remove(f)
        left_before = temporaries(out) if os.path.isdir(out) else []
        rc, err, sec, rss = launch(base, fault)
        lines = [l for l in err.splitlines() if l.startswith("specnmf: error:")]
        label = f"run {i + 1} ({fault or 'no fault'})"
        if rc is None:
            hangs += 1
        check(rc is not None, f"{label}: hang (killed after {LIMIT:.0f} s)")
        want = {"none": (0,), "fault": (9, 0), "crash": (1, 0)}[kind]
        check(rc in want, f"{label}: exit {rc}, want {want}: {err[-300:]}")
        if rc == 9:
            check(len(lines) == 1, f"{label}: {len(lines)} error lines")
        if rc != 0:
            check(not finals(out), f"{label}: output left under a final name: {finals(out)}")
        left = temporaries(out) if os.path.isdir(out) else []
        if rc == 1:
            crashed_left += len(left)
        else:
            # --force removed earlier crashed runs' files, and this run its own (a
            # fault in `read` stops before the folder is touched)
            check(not left or phase == "read", f"{label}: temporary files left {left} (before: {left_before})")
        if rc == 0:
            rss_ok.append(rss)
        print(f"{i + 1:3d} {fault or '-':22s} rc {rc}  {sec:5.1f} s  peak RSS {rss:6.1f} MiB"
              f"{'  left ' + str(len(left)) if left else ''}", flush=True)
    total = time.time() - t_all
    print(f"{RUNS} runs in {total:.0f} s at {NP} ranks: {kinds}, hangs {hangs}, "
          f"temporary files left by crashes (then removed by the next --force run): {crashed_left}")
    if len(rss_ok) >= 20:
        first, last = statistics.median(rss_ok[:10]), statistics.median(rss_ok[-10:])
        print(f"peak RSS of successful runs: first {rss_ok[0]:.1f} MiB, last {rss_ok[-1]:.1f} MiB; "
              f"median of the first 10 {first:.1f}, of the last 10 {last:.1f} MiB")
        check(last <= 1.25 * first, f"peak RSS grew: {first:.1f} -> {last:.1f} MiB")
    else:
        check(False, f"only {len(rss_ok)} successful runs")
    print(f"{len(FAILS)} failed checks" if FAILS else "all checks passed")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
