"""Time scipy.signal.stft (float32, hann, nperseg=n_fft, noverlap=n_fft-hop) on the
samples written by bench_stft, median of `runs`, and print the comparison with
the C timings passed in. usage: bench_stft_scipy.py XFILE SR N_FFT HOP RUNS SN_S FFTW_S"""
import sys
import time

import numpy as np
import scipy
import scipy.signal


def main():
    xfile, sr, n_fft, hop, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    sn_s, fftw_s = float(sys.argv[6]), float(sys.argv[7])
    x = np.fromfile(xfile, dtype=np.float32)
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        _, _, Z = scipy.signal.stft(x, fs=sr, window="hann", nperseg=n_fft, noverlap=n_fft - hop)
        ts.append(time.perf_counter() - t0)
    med = float(np.median(ts))
    print(f"scipy_version={scipy.__version__} scipy_frames={Z.shape[1]} scipy_dtype={Z.dtype}")
    print(f"scipy_stft_s={med:.4f}")
    print(f"speedup_vs_scipy={med / sn_s:.1f}")
    print(f"summary: sn_stft_exec {sn_s:.4f} s, plain batched FFTW loop {fftw_s:.4f} s "
          f"(ratio {sn_s / fftw_s:.2f}, goal <= 1.3), scipy.signal.stft {med:.4f} s "
          f"(speedup {med / sn_s:.1f}x, goal >= 10x)")


if __name__ == "__main__":
    main()
