"""Helpers of the separation and Griffin-Lim tests: librosa 0.11's istft and
griffinlim re-implemented in numpy (the references), the seed notebook's
pipeline (scikit-learn NMF on |STFT|, mixture phase), test mixtures made from
real instrument samples, and spectrogram files as specnmf writes them."""
import os
import sys

import numpy as np

from sn_testlib import SRC, get_window, stft

sys.path.insert(0, os.path.join(SRC, "examples"))


def istft(D, n_fft=2048, hop=None, win_length=None, window="hann", center=True, length=None):
    """librosa.istft (0.11) in float64: windowed irfft frames, overlap-add,
    division by the window sum-square where it is > tiny, centre trim, fix_length."""
    win_length = win_length or n_fft
    hop = hop or win_length // 4
    w = get_window(window, win_length, n_fft)
    N = D.shape[1]
    frames = np.fft.irfft(D, n=n_fft, axis=0) * w[:, None]
    total = n_fft + hop * (N - 1)
    pad = hop * (N + (n_fft + hop - 1) // hop)
    y = np.zeros(pad)
    wss = np.zeros(pad)
    # overlap-add in n_fft/hop vectorised passes: segment j of every frame
    # lands on the contiguous run [j*hop, j*hop + N*hop) viewed as (N, hop)
    for j in range(0, (n_fft + hop - 1) // hop):
        a, b = j * hop, min(n_fft, (j + 1) * hop)
        y[a:a + N * hop].reshape(N, hop)[:, :b - a] += frames[a:b, :].T
        wss[a:a + N * hop].reshape(N, hop)[:, :b - a] += (w[a:b] ** 2)[None, :]
    y, wss = y[:total], wss[:total]
    nz = wss > np.finfo(np.float64).tiny
    y[nz] /= wss[nz]
    start = n_fft // 2 if center else 0
    if length is None:
        return y[start:total - start] if center else y
    y = y[start:]
    out = np.zeros(length)
    m = min(length, len(y))
    out[:m] = y[:m]
    return out


def griffinlim(S, n_iter=32, n_fft=2048, hop=None, momentum=0.99, init="random", length=None, seed=0):
    """librosa.griffinlim (0.11) in numpy, complex64 angles as librosa:
    angles = exp(2 pi i U) (init='random') or 1 (init=None); each iteration
    rebuilt = stft(istft(S * angles)); angles = rebuilt - m/(1+m) * tprev
    (from the second iteration on); angles /= |angles| + tiny."""
    rng = np.random.default_rng(seed)
    if init == "random":
        angles = np.exp(2j * np.pi * rng.random(S.shape)).astype(np.complex64)
    else:
        angles = np.ones(S.shape, dtype=np.complex64)
    eps = np.finfo(np.complex64).tiny
    tprev = None
    angles *= S
    for _ in range(n_iter):
        inverse = istft(angles, n_fft=n_fft, hop=hop, length=length)
        rebuilt = stft(inverse, n_fft=n_fft, hop=hop).astype(np.complex64)
        angles[:] = rebuilt
        if tprev is not None:
            angles -= (momentum / (1 + momentum)) * tprev
        angles /= np.abs(angles) + eps
        angles *= S
        tprev = rebuilt
    return istft(angles, n_fft=n_fft, hop=hop, length=length)


def spectral_convergence(y, S, n_fft=2048, hop=None):
    """||(|STFT(y)| - S)||_F / ||S||_F"""
    M = np.abs(stft(y, n_fft=n_fft, hop=hop))
    n = min(M.shape[1], S.shape[1])
    return float(np.linalg.norm(M[:, :n] - S[:, :n]) / np.linalg.norm(S))


def write_spec_h5(path, S, sr, n_fft=2048, hop=512, n_samples=0, dset="/stft/magnitude", power=1):
    """A magnitude (F, N) with the attributes specnmf's stft writes."""
    import h5py
    with h5py.File(path, "w") as f:
        d = f.create_dataset(dset, data=np.asarray(S, dtype=np.float32))
        d.attrs["sample_rate"] = float(sr)
        d.attrs["n_fft"] = n_fft
        d.attrs["hop_length"] = hop
        d.attrs["win_length"] = n_fft
        d.attrs["window"] = "hann"
        d.attrs["center"] = 1
        d.attrs["power"] = power
        d.attrs["n_samples"] = n_samples


def test_signal(seconds, sr):
    """Real drum samples (kick + snare from hydrogen-drumkits) when the example
    module and kit are there, else a deterministic synthetic signal."""
    try:
        from make_example import make_stems
        st = make_stems("drums", seconds, sr)
        return (st["kick"] + st["snare"] + st["hihat"]).astype(np.float32)
    except Exception as ex:  # noqa: BLE001 - any missing piece: fall back
        print(f"note: drum samples unavailable ({ex}); using a synthetic signal")
        t = np.arange(int(seconds * sr)) / sr
        rng = np.random.default_rng(1)
        y = 0.3 * np.sin(2 * np.pi * (220 + 200 * t) * t) + 0.05 * rng.standard_normal(len(t))
        y *= (np.sin(2 * np.pi * 2 * t) > 0)
        return y.astype(np.float32)


def seed_pipeline(mix, R, n_fft=2048, hop=512):
    """The seed notebook: sklearn NMF (its defaults) on |STFT|, each component
    W_k H_k with the mixture's phase, istft. Returns (components (R, n), seconds)."""
    import time
    from sklearn.decomposition import NMF
    t0 = time.perf_counter()
    D = stft(mix, n_fft=n_fft, hop=hop)
    S = np.abs(D)
    model = NMF(n_components=R)
    W = model.fit_transform(S)
    H = model.components_
    phase = np.exp(1j * np.angle(D))
    comps = np.array([istft(np.outer(W[:, k], H[k]) * phase, n_fft=n_fft, hop=hop, length=len(mix))
                      for k in range(R)])
    return comps, time.perf_counter() - t0


def best_assignment(comps, stems):
    """Assign every component to one source (each source gets at least one)
    maximising the summed SNR of the sums against the true stems; returns
    the estimated sources (S, n)."""
    import itertools
    S = len(stems)
    R = len(comps)
    best, best_est = -np.inf, None
    for a in itertools.product(range(S), repeat=R):
        if len(set(a)) < S:
            continue
        est = np.zeros((S, comps.shape[1]))
        for k, s in enumerate(a):
            est[s] += comps[k]
        snr = sum(10 * np.log10(np.sum(stems[s] ** 2) / max(np.sum((stems[s] - est[s]) ** 2), 1e-30))
                  for s in range(S))
        if snr > best:
            best, best_est = snr, est
    return best_est


def sdr(est, stems):
    """Mean SDR (dB) of mir_eval.separation.bss_eval_sources at its best permutation."""
    import mir_eval
    ref = np.asarray(stems, dtype=np.float64)
    s, _, _, _ = mir_eval.separation.bss_eval_sources(ref, np.asarray(est, dtype=np.float64))
    return s
