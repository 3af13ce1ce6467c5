"""Make the NMF benchmark input: |STFT| of a generated 2-minute-plus signal,
V = (1025, N) float32 (n_fft 2048, hop 512) in /stft/magnitude, with the stft
attributes. Usage: bench_nmf_data.py OUT.h5 [N]"""
import sys
import h5py
import numpy as np

out = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
n_fft, hop, sr = 2048, 512, 22050
rng = np.random.default_rng(0)
win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
with h5py.File(out, "w") as f:
    d = f.create_dataset("/stft/magnitude", (n_fft // 2 + 1, N), dtype=np.float32, chunks=(n_fft // 2 + 1, 256))
    for k, v in dict(sample_rate=sr, n_fft=n_fft, hop_length=hop, win_length=n_fft, window="hann", center=1,
                     power=1.0).items():
        d.attrs[k] = v
    B = 4096
    for j0 in range(0, N, B):
        nb = min(B, N - j0)
        t = (np.arange(hop * (nb - 1) + n_fft) + j0 * hop) / sr
        x = 0.02 * rng.standard_normal(t.size)
        for i, f0 in enumerate([110.0, 165.0, 220.0, 330.0, 440.0, 587.0]):
            gate = ((t * (0.7 + 0.1 * i) + 0.13 * i) % 1.0) < 0.5
            for h in range(1, 6):
                x += gate * np.sin(2 * np.pi * f0 * h * t) / h
        idx = np.arange(n_fft)[:, None] + hop * np.arange(nb)[None, :]
        d[:, j0:j0 + nb] = np.abs(np.fft.rfft(x[idx] * win[:, None], axis=0)).astype(np.float32)
