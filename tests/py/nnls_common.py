"""Shared helpers of the nnls/mel tests: running specnmf, librosa's published
mel formulas re-implemented in numpy (librosa is not installed), and a
spectrogram of a synthetic recording."""
import os
import shlex
import subprocess
import sys

import numpy as np

SPECNMF = os.environ.get("SPECNMF", "specnmf")
MPIRUN = shlex.split(os.environ.get("SN_MPIRUN", ""))
NP = int(os.environ.get("SN_NP", "1"))
TMP = os.environ.get("SN_TMP", ".")


def run(args, ranks=True, expect_ok=True, timeout=120):
    """Run specnmf (under SN_MPIRUN when ranks, else as a singleton)."""
    cmd = (MPIRUN if ranks else []) + [SPECNMF] + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if expect_ok and p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit("FAIL: %s exited %d" % (" ".join(cmd), p.returncode))
    return p


# ---- librosa 0.11 formulas (librosa/core/convert.py, librosa/filters.py) ----
def hz_to_mel(f, htk=False):
    f = np.asanyarray(f, dtype=float)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-30) / min_log_hz) / logstep, mels)


def mel_to_hz(m, htk=False):
    m = np.asanyarray(m, dtype=float)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank(sr, n_fft, n_mels=128, fmin=0.0, fmax=None, htk=False, norm="slaney"):
    if fmax is None:
        fmax = sr / 2.0
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    if norm == "slaney":
        enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
        weights *= enorm[:, np.newaxis]
    return weights


# ---- a synthetic recording and its spectrogram (librosa conventions) -------
def synth_audio(sr=22050, seconds=3.0, seed=0):
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    t = np.arange(n) / sr
    y = np.zeros(n)
    notes = [220.0, 277.2, 329.6, 440.0, 523.3, 659.3]
    seg = n // 6
    for k, f0 in enumerate(notes):
        env = np.zeros(n)
        a = k * seg
        env[a : a + 2 * seg] = np.exp(-np.arange(min(2 * seg, n - a)) / (0.4 * sr))
        for h in range(1, 8):
            y += env * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.28)) / h
    y += 0.01 * rng.standard_normal(n)
    return (y / np.abs(y).max() * 0.5).astype(np.float32)


def stft_mag(y, n_fft=2048, hop=512):
    """|STFT| with a periodic Hann window and centred, zero-padded frames."""
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    yp = np.pad(y.astype(float), n_fft // 2)
    nfr = 1 + (len(yp) - n_fft) // hop
    frames = np.stack([yp[i * hop : i * hop + n_fft] * win for i in range(nfr)], 1)
    return np.abs(np.fft.rfft(frames, axis=0))


def write_spec(path, S, sr, n_fft, hop, power=1, dset="/stft/magnitude"):
    import h5py

    with h5py.File(path, "w") as f:
        d = f.create_dataset(dset, data=S.astype(np.float32))
        d.attrs["sample_rate"] = float(sr)
        d.attrs["n_fft"] = n_fft
        d.attrs["hop_length"] = hop
        d.attrs["win_length"] = n_fft
        d.attrs["window"] = "hann"
        d.attrs["center"] = 1
        d.attrs["power"] = power
