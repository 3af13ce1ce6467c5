"""Writes the seed corpora of the fuzz targets (small valid inputs; kept in
git so that the regression tests and short CI runs start from them):
    /usr/bin/python3 tests/fuzz/make_corpus.py"""
import os

import h5py
import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))


def d(name):
    p = os.path.join(HERE, "corpus", name)
    os.makedirs(p, exist_ok=True)
    return p


rng = np.random.default_rng(0)
y = (0.3 * np.sin(np.arange(400) / 3.0)).astype(np.float32)
a = d("fuzz_audio")
sf.write(os.path.join(a, "pcm16.wav"), y, 8000, subtype="PCM_16")
sf.write(os.path.join(a, "float.wav"), np.stack([y, -y], 1), 8000, subtype="FLOAT")
sf.write(os.path.join(a, "pcm24.flac"), y, 16000, subtype="PCM_24")
sf.write(os.path.join(a, "pcm16.aiff"), y, 22050, subtype="PCM_16")
sf.write(os.path.join(a, "vorbis.ogg"), np.tile(y, 4), 8000, subtype="VORBIS")
sf.write(os.path.join(a, "rf64.wav"), y[:64], 8000, subtype="FLOAT", format="RF64")
with h5py.File(os.path.join(a, "audio.h5"), "w", libver="latest") as f:
    f.create_dataset("audio", data=y[:64]).attrs["sample_rate"] = 8000.0

h = d("fuzz_h5")
F, N = 9, 12
M = np.abs(rng.standard_normal((F, N))).astype(np.float32)
attrs = dict(sample_rate=8000.0, n_fft=16, hop_length=4, win_length=16, window="hann", center=1, power=1,
             n_samples=44)
with h5py.File(os.path.join(h, "spec.h5"), "w", libver="latest") as f:
    m = f.create_dataset("stft/magnitude", data=M, chunks=(F, 4))
    c = f.create_dataset("stft/complex", data=(M * np.exp(1j)).astype(np.complex64))
    for k, v in attrs.items():
        m.attrs[k] = v
        c.attrs[k] = v
with h5py.File(os.path.join(h, "model.h5"), "w", libver="latest") as f:
    f.create_dataset("nmf/W", data=M[:, :3])
    f.create_dataset("nmf/H", data=M[:3, :])
    f.create_dataset("nmf/loss", data=np.arange(4.0))
with h5py.File(os.path.join(h, "contiguous-old-format.h5"), "w") as f:
    m = f.create_dataset("stft/magnitude", data=M)
    for k, v in attrs.items():
        m.attrs[k] = v

o = d("fuzz_opts")
for i, args in enumerate([["--output", "x.h5", "--n", "12", "in.wav"], ["-o", "out", "-f", "--x=1e-3", "--", "-a"],
                          ["--n64=-9223372036854775808", "--s", "a:/b/c", "--x", "nan"],
                          ["-n", "2147483648", "file.h5:/stft/magnitude"], ["--flag=1", "--unknown", "-h"]]):
    with open(os.path.join(o, f"argv{i}"), "wb") as f:
        f.write(b"\0".join(s.encode() for s in args))
print("corpus written")
