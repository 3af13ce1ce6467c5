"""specnmf stft / istft against an independent numpy implementation of
librosa's conventions, at the rank count this test runs at (SN_NP).

Tolerances: |specnmf - reference| <= 1e-5 * (peak magnitude of that frame) for
the magnitude and the complex STFT; ISTFT(STFT(x)) = x within 1e-5 (absolute,
signals of peak <= 1). The 1-rank result is recomputed here and the datasets
written at SN_NP ranks must hold the same values (to float rounding, 1e-6)."""
import os

import h5py
import numpy as np
import soundfile as sf

from sn_testlib import NP, check, finish, run, stft, tmp

rng = np.random.RandomState(1234)


def signal(n, sr=22050):
    t = np.arange(n) / sr
    x = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 3111.5 * t) + 0.05 * rng.randn(n)
    return x.astype(np.float32)


def write_wav(name, x, sr=22050):
    path = tmp(name)
    sf.write(path, x, sr, subtype="FLOAT")
    return path


def frame_err(got, ref):
    peak = np.maximum(np.abs(ref).max(axis=0), 1e-30)
    return float((np.abs(got - ref).max(axis=0) / peak).max())


# Mono signals, including one shorter than n_fft.
x_long = signal(22050 * 2 + 77)
x_short = signal(300)
stereo = np.stack([signal(5000), signal(5000)], axis=1)
cases = [
    dict(name="hann", x=x_long, args=[], kw={}),
    dict(name="hamming-odd-nfft", x=x_long, args=["--window", "hamming", "--n-fft", "255", "--hop", "100"],
         kw=dict(window="hamming", n_fft=255, hop=100)),
    dict(name="blackman-winlen", x=x_long, args=["--window", "blackman", "--n-fft", "1024", "--win-length", "700",
                                                 "--hop", "333"],
         kw=dict(window="blackman", n_fft=1024, win_length=700, hop=333)),
    dict(name="rect-nocenter", x=x_long, args=["--window", "rectangular", "--n-fft", "512", "--no-center"],
         kw=dict(window="rectangular", n_fft=512, center=False)),
    dict(name="short-than-nfft", x=x_short, args=["--n-fft", "512", "--hop", "256"], kw=dict(n_fft=512, hop=256)),
    dict(name="power2", x=x_long, args=["--power", "2", "--n-fft", "1024"], kw=dict(n_fft=1024), power=2),
]
for c in cases:
    wav = write_wav(c["name"] + ".wav", c["x"])
    out = tmp(c["name"] + ".h5")
    run(["stft", wav, "-o", out, "--complex", "--quiet"] + c["args"])
    ref = stft(c["x"].astype(np.float64), **c["kw"])
    power = c.get("power", 1)
    with h5py.File(out, "r") as f:
        mag = f["stft/magnitude"][:]
        cpx = f["stft/complex"][:]
        attrs = dict(f["stft/magnitude"].attrs)
    check(mag.shape == ref.shape and mag.dtype == np.float32,
          f"{c['name']}: shape {mag.shape} float32, reference {ref.shape}")
    if mag.shape != ref.shape:
        continue
    check(frame_err(mag, np.abs(ref) ** power) <= 1e-5 * (2 if power == 2 else 1),
          f"{c['name']}: magnitude^{power} within 1e-5 of frame peak (err {frame_err(mag, np.abs(ref) ** power):.2e})")
    check(frame_err(cpx, ref) <= 1e-5, f"{c['name']}: complex within 1e-5 of frame peak (err {frame_err(cpx, ref):.2e})")
    check(attrs["n_samples"] == len(c["x"]) and attrs["sample_rate"] == 22050 and attrs["power"] == power,
          f"{c['name']}: attributes {attrs}")
    if NP > 1:
        one = tmp(c["name"] + ".np1.h5")
        run(["stft", wav, "-o", one, "--complex", "--quiet"] + c["args"], np_=1)
        with h5py.File(one, "r") as f:
            d = float(np.abs(f["stft/magnitude"][:] - mag).max())
            dc = float(np.abs(f["stft/complex"][:] - cpx).max())
        check(d <= 1e-6 * max(1.0, float(np.abs(mag).max())), f"{c['name']}: {NP} ranks equal 1 rank (max diff {d:.2e})")
        check(dc <= 1e-6 * max(1.0, float(np.abs(cpx).max())),
              f"{c['name']}: complex STFT at {NP} ranks equals 1 rank (max diff {dc:.2e})")

    # Round trip through istft (window-sum-square normalisation, librosa.istft).
    if c["name"] in ("hann", "hamming-odd-nfft", "short-than-nfft", "blackman-winlen"):
        for ext in ("h5", "wav"):
            y_path = tmp(c["name"] + ".y." + ext)
            run(["istft", out, "-o", y_path, "--quiet"])
            if ext == "h5":
                with h5py.File(y_path, "r") as f:
                    y = f["audio"][:]
                    sr = f["audio"].attrs["sample_rate"]
            else:
                y, sr = sf.read(y_path, dtype="float32")
            ok = y.shape == c["x"].shape
            err = float(np.abs(y - c["x"]).max()) if ok else float("inf")
            check(ok and err <= 1e-5 and sr == 22050,
                  f"{c['name']}: istft -> {ext}: length {y.shape} vs {c['x'].shape}, max error {err:.2e} <= 1e-5")
    if c["name"] == "rect-nocenter":
        # without centring, librosa's istft covers n_fft + hop (N - 1) samples
        y_path = tmp(c["name"] + ".y.h5")
        run(["istft", out, "-o", y_path, "--quiet"])
        with h5py.File(y_path, "r") as f:
            y = f["audio"][:]
        L = 512 + 128 * (ref.shape[1] - 1)
        err = float(np.abs(y[:L] - c["x"][:L]).max()) if len(y) >= L else float("inf")
        check(err <= 1e-5, f"{c['name']}: istft of an uncentred STFT: {len(y)} samples, first {L} within "
              f"{err:.2e} <= 1e-5")
    if c["name"] == "hann":
        # --length: librosa.istft(length=...) trims or pads with zeros
        n_in = len(c["x"])
        for want in (1000, n_in + 700):
            y_path = tmp(f"hann.len{want}.h5")
            run(["istft", out, "-o", y_path, "--quiet", "--length", want])
            with h5py.File(y_path, "r") as f:
                y = f["audio"][:]
            m = min(want, n_in)
            ok = len(y) == want and float(np.abs(y[:m] - c["x"][:m]).max()) <= 1e-5 and \
                float(np.abs(y[m:]).max(initial=0.0)) <= 1e-6
            check(ok, f"hann: istft --length {want}: {len(y)} samples, equal to x where x has samples, zeros after")

# Several channels: the mean of their magnitudes (the default rule); --mono
# averages the samples first; --channel picks one.
wav = write_wav("stereo.wav", stereo)
run(["stft", wav, "-o", tmp("stereo.h5"), "--quiet", "--n-fft", "512"])
run(["stft", wav, "-o", tmp("stereo_mono.h5"), "--quiet", "--n-fft", "512", "--mono"])
run(["stft", wav, "-o", tmp("stereo1.h5"), "--quiet", "--n-fft", "512", "--channel", "1"])
with h5py.File(tmp("stereo.h5")) as f, h5py.File(tmp("stereo1.h5")) as g, h5py.File(tmp("stereo_mono.h5")) as h:
    st64 = stereo.astype(np.float64)
    check(frame_err(f["stft/magnitude"][:], (np.abs(stft(st64[:, 0], n_fft=512)) + np.abs(stft(st64[:, 1], n_fft=512))) / 2)
          <= 1e-5, "stereo: the mean of the channels' magnitudes")
    check(frame_err(h["stft/magnitude"][:], np.abs(stft(st64.mean(axis=1), n_fft=512))) <= 1e-5,
          "stereo --mono: channels averaged")
    check(frame_err(g["stft/magnitude"][:], np.abs(stft(stereo[:, 1].astype(np.float64), n_fft=512))) <= 1e-5,
          "stereo: --channel 1")
# --wisdom keeps FFTW's plans between jobs (and forces FFTW_MEASURE): the file
# appears, a second job imports it, and the values do not change.
wis = tmp("fftw.wisdom")
wav = tmp("hann.wav")
for k in (1, 2):
    run(["stft", wav, "-o", tmp(f"wis{k}.h5"), "--quiet", "--wisdom", wis])
    check(os.path.getsize(wis) > 0, f"wisdom file written (job {k})")
with h5py.File(tmp("wis1.h5")) as f, h5py.File(tmp("wis2.h5")) as g, h5py.File(tmp("hann.h5")) as h:
    ref = np.abs(stft(x_long.astype(np.float64)))
    check(frame_err(g["stft/magnitude"][:], ref) <= 1e-5 and frame_err(f["stft/magnitude"][:], ref) <= 1e-5,
          "with wisdom: same values within 1e-5 of frame peak")
finish()
