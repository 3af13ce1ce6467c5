"""Helpers for the nmf tests: a real spectrogram made in numpy (librosa-style
STFT of a generated signal: harmonic notes, a chirp, noise), HDF5 inputs in the
layout `specnmf stft` writes, and running specnmf at SN_NP ranks or one."""
import os
import subprocess
import sys
import warnings

import h5py
import numpy as np

SPECNMF = os.environ.get("SPECNMF", "specnmf")
MPIRUN = os.environ.get("SN_MPIRUN", "").split()
NP = int(os.environ.get("SN_NP", "1"))
TMP = os.environ.get("SN_TMP", "/tmp")
ATTRS = dict(sample_rate=8000, n_fft=128, hop_length=32, win_length=128, window="hann", center=1, power=1.0)


def spectrogram(F=65, N=240, seed=0, floor=0.0):
    """|STFT| (F x N, float32) of a generated recording, hann window, hop n_fft/4."""
    rng = np.random.default_rng(seed)
    n_fft = 2 * (F - 1)
    hop = n_fft // 4
    sr = 8000
    t = np.arange(hop * (N - 1) + n_fft) / sr
    x = np.zeros_like(t)
    for k, f0 in enumerate([220.0, 330.0, 523.0]):
        gate = ((t * 2 + k * 0.3) % 1.0) < 0.55
        for h in range(1, 5):
            x += gate * np.sin(2 * np.pi * f0 * h * t) / h
    x += 0.3 * np.sin(2 * np.pi * (300 + 900 * (t / t[-1])) * t)
    x += 0.02 * rng.standard_normal(t.size)
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    idx = np.arange(n_fft)[:, None] + hop * np.arange(N)[None, :]
    V = np.abs(np.fft.rfft(x[idx] * win[:, None], axis=0)).astype(np.float32)
    return (V + np.float32(floor)).astype(np.float32)


def write_spec(path, V, attrs=None, dset="/stft/magnitude"):
    a = dict(ATTRS)
    if attrs:
        a.update(attrs)
    with h5py.File(path, "w") as f:
        d = f.create_dataset(dset, data=V.astype(np.float32))
        for k, v in a.items():
            d.attrs[k] = v
    return path


def write_model(path, W, H, attrs=None):
    with h5py.File(path, "w") as f:
        w = f.create_dataset("/nmf/W", data=np.asarray(W, np.float32))
        f.create_dataset("/nmf/H", data=np.asarray(H, np.float32))
        for k, v in (attrs or {}).items():
            w.attrs[k] = v
    return path


def run(args, np_=None, check=True, env=None, timeout=100):
    """Run `specnmf ARGS` at SN_NP ranks (np_=1: the plain binary, one rank)."""
    cmd = ([SPECNMF] if (np_ == 1 or not MPIRUN) else MPIRUN + [SPECNMF]) + ["nmf"] + list(args)
    e = dict(os.environ)
    e["OPENBLAS_NUM_THREADS"] = "1"
    if env:
        e.update(env)
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=timeout)
    if check and p.returncode != 0:
        print("command failed:", " ".join(cmd), "\n", p.stderr, file=sys.stderr)
        sys.exit(1)
    return p


def read_model(path):
    with h5py.File(path, "r") as f:
        out = dict(W=f["/nmf/W"][...], H=f["/nmf/H"][...], loss=f["/nmf/loss"][...],
                   attrs=dict(f["/nmf"].attrs))
        out["loss_iter"] = f["/nmf/loss_iter"][...] if "/nmf/loss_iter" in f else None
    return out


def rel(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


class Checker:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, ok, what):
        print(("ok    " if ok else "FAIL  ") + what, flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    def done(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


def quiet_sklearn():
    warnings.filterwarnings("ignore")
