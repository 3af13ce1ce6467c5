"""Check src/sn_stft against librosa 0.11's conventions, re-implemented in numpy
(librosa is not installed): centred STFT with pad_mode="constant", windows from
scipy.signal.get_window(fftbins=True) zero-padded centred to n_fft, unscaled rfft,
ISTFT by windowed irfft overlap-add divided by window_sumsquare where it exceeds
np.finfo(float32).tiny, trimmed by n_fft//2.

Usage: check_stft_librosa.py TEST_STFT_BINARY   (runs `test_stft --dump ...`)
Tolerances: windows 1e-7 absolute; complex STFT and |X|^power within 1e-5 of the
frame's peak (peak^2 for power 2); window sum-square 1e-6 relative; the
ISTFT(STFT(x)) round trip within 1e-5 of max|x| and within 1e-5 of librosa's own
round trip."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import scipy.signal

SCIPY_NAME = {"hann": "hann", "hamming": "hamming", "blackman": "blackman", "rectangular": "boxcar"}


def librosa_window(kind, win_length, n_fft):
    w = scipy.signal.get_window(SCIPY_NAME[kind], win_length, fftbins=True)
    lpad = (n_fft - win_length) // 2  # librosa.util.pad_center
    return np.pad(w, (lpad, n_fft - win_length - lpad))


def librosa_stft(y, n_fft, hop, win_length, kind):
    w = librosa_window(kind, win_length, n_fft)
    yp = np.pad(y, (n_fft // 2, n_fft // 2), mode="constant")
    n_frames = 1 + (len(yp) - n_fft) // hop
    idx = np.arange(n_fft)[:, None] + hop * np.arange(n_frames)[None, :]
    return np.fft.rfft(w[:, None] * yp[idx], axis=0).astype(np.complex64)


def librosa_window_sumsquare(kind, n_frames, win_length, n_fft, hop):
    n = n_fft + hop * (n_frames - 1)
    x = np.zeros(n, dtype=np.float32)
    win_sq = librosa_window(kind, win_length, n_fft) ** 2
    for i in range(n_frames):  # librosa's __window_ss_fill
        s = i * hop
        x[s:min(n, s + n_fft)] += win_sq[: max(0, min(n_fft, n - s))]
    return x


def librosa_istft(S, n_fft, hop, win_length, kind, length):
    w = librosa_window(kind, win_length, n_fft)
    n_frames = S.shape[1]
    frames = w[:, None] * np.fft.irfft(S, n=n_fft, axis=0)
    y = np.zeros(n_fft + hop * (n_frames - 1))
    for t in range(n_frames):
        y[t * hop:t * hop + n_fft] += frames[:, t]
    wss = librosa_window_sumsquare(kind, n_frames, win_length, n_fft, hop)
    start = n_fft // 2
    y = y[start:start + length]
    wss = wss[start:start + length]
    nz = wss > np.finfo(np.float32).tiny
    y[nz] /= wss[nz]
    return y.astype(np.float32), wss


def main():
    binary = sys.argv[1]
    rng = np.random.default_rng(1234)
    cases = [  # n_fft, win_length, hop, window, power, n_samples
        (2048, 2048, 512, "hann", 2, 22050),
        (2048, 1500, 512, "hann", 1, 9001),
        (255, 255, 100, "hamming", 1, 3000),
        (256, 200, 77, "blackman", 1, 2500),
        (512, 512, 128, "rectangular", 2, 4000),
        (256, 256, 64, "hann", 1, 100),  # shorter than n_fft
    ]
    failures = 0
    with tempfile.TemporaryDirectory(dir=os.environ.get("SN_TMP")) as tmp:
        for n_fft, wl, hop, kind, power, L in cases:
            t = np.arange(L)
            x = (0.5 * rng.standard_normal(L) + np.sin(2 * np.pi * 440.0 * t / 22050.0)).astype(np.float32)
            fin, fout = os.path.join(tmp, "x.f32"), os.path.join(tmp, "out.f32")
            x.tofile(fin)
            res = subprocess.run([binary, "--dump", fin, fout, str(n_fft), str(wl), str(hop), kind, str(power)],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                print(f"FAIL {kind} {n_fft}: helper failed: {res.stderr}")
                failures += 1
                continue
            T, F = map(int, res.stdout.split())
            raw = np.fromfile(fout, dtype=np.float32)
            ny = n_fft + hop * (T - 1)
            o = 0
            mag = raw[o:o + F * T].reshape(T, F).T
            o += F * T
            cx = raw[o:o + 2 * F * T].reshape(T, F, 2)
            cx = (cx[..., 0] + 1j * cx[..., 1]).T
            o += 2 * F * T
            win = raw[o:o + n_fft]
            o += n_fft
            wss = raw[o:o + ny]
            o += ny
            y = raw[o:o + L]
            assert o + L == raw.size

            S = librosa_stft(x.astype(np.float64), n_fft, hop, wl, kind)
            ref_wss = librosa_window_sumsquare(kind, S.shape[1], wl, n_fft, hop)
            ref_y, _ = librosa_istft(S, n_fft, hop, wl, kind, L)
            name = f"{kind} n_fft={n_fft} win_length={wl} hop={hop} power={power} n={L}"
            errs = {}
            errs["frames"] = 0.0 if S.shape == (F, T) else np.inf
            if np.isfinite(errs["frames"]):
                peak = np.abs(S).max(axis=0)
                errs["window"] = np.abs(win - librosa_window(kind, wl, n_fft)).max()
                errs["complex"] = (np.abs(cx - S) / peak).max()
                errs["mag"] = (np.abs(mag - np.abs(S) ** power) / peak ** power).max()
                errs["wss"] = (np.abs(wss - ref_wss) / np.maximum(1.0, ref_wss)).max()
                errs["roundtrip"] = np.abs(y - x).max() / np.abs(x).max()
                errs["vs_librosa_istft"] = np.abs(y - ref_y).max() / np.abs(x).max()
            tol = {"frames": 0, "window": 1e-7, "complex": 1e-5, "mag": 1e-5, "wss": 1e-6, "roundtrip": 1e-5,
                   "vs_librosa_istft": 1e-5}
            bad = [k for k in errs if not errs[k] <= tol[k]]
            print(("FAIL " if bad else "ok   ") + name + ": " +
                  ", ".join(f"{k} {v:.2e}" for k, v in errs.items()) + (f" (T={T}, librosa {S.shape[1]})"))
            failures += bool(bad)
    if failures:
        print(f"{failures} case(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
