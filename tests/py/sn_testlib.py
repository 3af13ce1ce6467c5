"""Shared helpers for specnmf's Python test scripts (run with Debian's python3).

Each test script gets from ctest: SPECNMF (the binary), SN_MPIRUN (launcher
prefix ending in "-n N"), SN_NP, SN_TMP (a fresh folder). Reference numbers
are computed here independently, from numpy/scipy, with librosa 0.11's
published conventions."""
import os
import shlex
import subprocess
import sys

import numpy as np
import scipy.signal

SPECNMF = os.environ.get("SPECNMF", "specnmf")
MPIRUN = shlex.split(os.environ.get("SN_MPIRUN", "mpirun -n 1"))
NP = int(os.environ.get("SN_NP", "1"))
TMP = os.environ.get("SN_TMP", "/tmp")
SRC = os.environ.get("SN_SRC", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

FAILURES = []


def run(args, np_=None, timeout=120, check=True):
    """Run specnmf under the launcher; returns CompletedProcess."""
    cmd = list(MPIRUN)
    if np_ is not None:
        cmd[-1] = str(np_)
    cmd += [SPECNMF] + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return p


def error_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("specnmf: error:")]


def expect_fail(args, what, words, code=None, gone=(), no_tmp=False, timeout=120):
    """Run a bad command: a non-zero exit (code, if given), exactly one
    "specnmf: error:" line containing every word of words, nothing at the
    paths in gone (and, with no_tmp, no temporary file beside them)."""
    import glob
    p = run(args, check=False, timeout=timeout)
    lines = error_lines(p.stderr)
    check(p.returncode != 0 and (code is None or p.returncode == code),
          f"{what}: exit code {p.returncode} (expected {code or 'non-zero'})")
    check(len(lines) == 1, f"{what}: exactly one error line ({len(lines)}): {lines}")
    check(all(w in (lines[0] if lines else "") for w in words), f"{what}: message names {words}: {lines[:1]}")
    for g in gone:
        check(not os.path.exists(g), f"{what}: {g} not created")
        if no_tmp:
            check(not glob.glob(g + "*tmp*"), f"{what}: no temporary file beside {g}")
    return p


def check(cond, what):
    """Record a failed check (all checks run; the script fails at the end)."""
    status = "ok  " if cond else "FAIL"
    print(f"{status} {what}", flush=True)
    if not cond:
        FAILURES.append(what)


def finish():
    n_fail = len(FAILURES)
    print(f"{n_fail} failed checks" if n_fail else "all checks passed")
    sys.exit(1 if n_fail else 0)


def tmp(name):
    return os.path.join(TMP, name)


# ---- librosa 0.11 conventions, in numpy ----------------------------------------

def get_window(name, win_length, n_fft):
    """librosa.filters.get_window(name, win_length, fftbins=True), padded centred to n_fft."""
    w = scipy.signal.get_window({"rectangular": "boxcar"}.get(name, name), win_length, fftbins=True)
    lpad = (n_fft - win_length) // 2
    out = np.zeros(n_fft)
    out[lpad:lpad + win_length] = w
    return out


def stft(y, n_fft=2048, hop=None, win_length=None, window="hann", center=True):
    """librosa.stft with pad_mode='constant' (librosa 0.11's default), in float64."""
    win_length = win_length or n_fft
    hop = hop or win_length // 4
    w = get_window(window, win_length, n_fft)
    y = np.asarray(y, dtype=np.float64)
    if center:
        y = np.pad(y, (n_fft // 2, n_fft // 2), mode="constant")
    n_frames = 1 + (len(y) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    return np.fft.rfft(y[idx] * w[None, :], axis=1).T  # (F, N)


def rank_pids(sid):
    """pids of the live specnmf processes (the ranks) in session sid: a job
    started with start_new_session=True has its launcher's pid as sid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            if st[st.index("(") + 1:st.rindex(")")] == "specnmf" and int(fields[3]) == sid and fields[0] != "Z":
                out.append(int(d))
        except (OSError, ValueError):
            pass
    return out


def kill_job(p, limit=10.0):
    """SIGKILL a job started with start_new_session=True (p: its Popen, or its
    pid when waited for by the caller): mpirun's process group and every
    specnmf rank of its session (Open MPI may give the ranks their own process
    group, and an orphaned rank would go on writing), then wait until none is
    left. Returns True when none is left."""
    import signal
    import time
    pid = p if isinstance(p, int) else p.pid
    pids = rank_pids(pid)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    t0 = time.time()
    while True:
        for q in pids:
            try:
                os.kill(q, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pids = rank_pids(pid)
        if not pids or time.time() - t0 > limit:
            break
        time.sleep(0.05)
    if not isinstance(p, int):
        p.wait(timeout=60)
    return not pids
