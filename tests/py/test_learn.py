#!/usr/bin/python3
"""specnmf learn at SN_NP ranks: the frames of many inputs side by side, split
over ranks by global frame index.

Inputs of uneven lengths (at 2 and 3 ranks a rank holds frames of two files,
and one file has fewer frames than there are ranks), given on the command line
and through --list (with a comment and a blank line), as audio files and as
stored spectrograms. Checks:
- V: learn on the stored spectrograms (made by `specnmf stft`, whose numbers
  the stft tests check against librosa) gives the W of learn on the audio
  files (same V, 1e-6 relative), and `specnmf nmf` on those spectrograms
  glued side by side in numpy gives the same W (1e-5): the side-by-side V is
  the hstack of the files' spectrograms;
- rank invariance: W at SN_NP ranks equals W at 1 rank within 1e-5 (random
  start and NNDSVDa, KL and Frobenius);
- the attributes of /dict/W: source, beta, STFT parameters, inputs, seconds;
- --solver online, which holds no V (each rank's frames go to a scratch file
  in pieces of 512 frames, across file boundaries; a 26 s input makes several
  pieces): learn on the audio files and on the stored spectrograms give the W
  of `nmf --solver online` on the glued V (1e-5), and the scratch folder is
  left empty."""
import os

import h5py
import numpy as np
import soundfile as sf

from sn_testlib import NP, check, finish, run, tmp

sr = 22050
rng = np.random.default_rng(7)
lengths = [int(1.3 * sr), 700, int(0.6 * sr), int(2.1 * sr)]  # 700 samples: 2 frames
files = []
for i, n in enumerate(lengths):
    t = np.arange(n) / sr
    x = sum(0.2 / (h + 1) * np.sin(2 * np.pi * (110 * (i + 2)) * (h + 1) * t) for h in range(4))
    x = x * (1 + 0.5 * np.sin(2 * np.pi * (1 + i) * t)) + 0.003 * rng.standard_normal(n)
    path = tmp(f"in{i}.wav" if i != 2 else "in2.flac")
    sf.write(path, x.astype(np.float32), sr, subtype="FLOAT" if i != 2 else "PCM_24")
    files.append(path)

# per-file spectrograms from specnmf stft (the stft tests check them against librosa)
specs = []
for i, f in enumerate(files):
    out = tmp(f"spec{i}.h5")
    run(["stft", f, "-o", out, "--force", "-q"], np_=1)
    specs.append(out)
with h5py.File(specs[0]) as h:
    attrs = dict(h["/stft/magnitude"].attrs)
V = np.hstack([h5py.File(s)["/stft/magnitude"][()] for s in specs])
N = V.shape[1]
frames = [h5py.File(s)["/stft/magnitude"].shape[1] for s in specs]
print(f"frames per file {frames}, N = {N}, ranks {NP}")
check(min(frames) < 3, "a file has fewer frames than 3 ranks")


def stored(V, path):
    """V (F x N) as a stored spectrogram with the attributes of specnmf stft's."""
    with h5py.File(path, "w") as h:
        d = h.create_dataset("/stft/magnitude", data=V.astype(np.float32))
        for k, v in attrs.items():
            d.attrs[k] = v
    return path


glued = stored(V, tmp("glued.h5"))

lst = tmp("list.txt")
with open(lst, "w") as fp:
    fp.write(f"# the rest of the inputs\n{files[2]}\n\n  {files[3]}  \n")


def learn(args, out, np_=None):
    # --context 0: plain frames, the V that nmf factorizes (learn_context tests the stacked one)
    run(["learn"] + args + ["-o", out, "--force", "-q", "--context", "0"], np_=np_, timeout=120)
    with h5py.File(out) as h:
        return h["/dict/W"][()].astype(np.float64), dict(h["/dict/W"].attrs)


def rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


for opts in (["-k", "5", "--beta", "kl", "--init", "random", "--seed", "3", "--max-iter", "60", "--tol", "0"],
             ["-k", "4", "--beta", "fro", "--max-iter", "40", "--tol", "0"]):
    tag = " ".join(opts[:4])
    W_audio, at = learn([files[0], files[1], "--list", lst, "--name", "tone_1"] + opts, tmp("d_audio.h5"))
    W_spec, _ = learn(specs + ["--name", "tone_1"] + opts, tmp("d_spec.h5"))
    W_one, _ = learn([files[0], files[1], "--list", lst, "--name", "tone_1"] + opts, tmp("d_one.h5"), np_=1)
    run(["nmf", glued, "-o", tmp("nmf.h5"), "--force", "-q", "--tile", "256"] + opts)
    W_nmf = h5py.File(tmp("nmf.h5"))["/nmf/W"][()].astype(np.float64)
    check(W_audio.shape == (1025, int(opts[1])), f"{tag}: /dict/W is (F, R) {W_audio.shape}")
    check(rel(W_spec, W_audio) < 1e-6, f"{tag}: stored spectrograms give the audio's W (rel {rel(W_spec, W_audio):.1e} < 1e-6)")
    check(rel(W_nmf, W_audio) < 1e-5, f"{tag}: nmf of the numpy-glued V gives learn's W (rel {rel(W_nmf, W_audio):.1e} < 1e-5)")
    check(rel(W_audio, W_one) < 1e-5, f"{tag}: {NP} ranks equal 1 rank (rel {rel(W_audio, W_one):.1e} < 1e-5)")

# --solver online: V streamed through a scratch file (the results depend on the rank count, so the
# reference is nmf --solver online at the same count)
n_long = int(26 * sr)
t = np.arange(n_long) / sr
x = 0.2 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t)) + 0.003 * rng.standard_normal(n_long)
long_wav = tmp("long.wav")
sf.write(long_wav, x.astype(np.float32), sr, subtype="FLOAT")
long_spec = tmp("long_spec.h5")
run(["stft", long_wav, "-o", long_spec, "--force", "-q"], np_=1)
V_on = np.hstack([V, h5py.File(long_spec)["/stft/magnitude"][()]])
glued_on = stored(V_on, tmp("glued_online.h5"))
scratch = tmp("scratch")
os.makedirs(scratch, exist_ok=True)
opts = ["-k", "4", "--beta", "kl", "--solver", "online", "--batch-size", "300", "--max-iter", "3", "--tol", "0",
        "--init", "random", "--scratch", scratch]
W_on_audio, _ = learn(files + [long_wav, "--name", "tone_1"] + opts, tmp("d_on_audio.h5"))
W_on_spec, _ = learn(specs + [long_spec, "--name", "tone_1"] + opts, tmp("d_on_spec.h5"))
run(["nmf", glued_on, "-o", tmp("nmf_on.h5"), "--force", "-q", "--tile", "256"] + opts)
W_on_nmf = h5py.File(tmp("nmf_on.h5"))["/nmf/W"][()].astype(np.float64)
print(f"online: N = {V_on.shape[1]} frames")
check(rel(W_on_spec, W_on_audio) < 1e-5, f"online: stored spectrograms give the audio's W (rel {rel(W_on_spec, W_on_audio):.1e} < 1e-5)")
check(rel(W_on_nmf, W_on_audio) < 1e-5, f"online: nmf of the glued V gives learn's W (rel {rel(W_on_nmf, W_on_audio):.1e} < 1e-5)")
check(os.listdir(scratch) == [], f"online: the scratch folder is left empty ({os.listdir(scratch)})")

check(at.get("source") == "tone_1", f"attribute source = {at.get('source')}")
check(at.get("beta") == 2.0, f"attribute beta = {at.get('beta')}")
check(at.get("n_fft") == 2048 and at.get("hop_length") == 512 and at.get("window") == "hann"
      and at.get("sample_rate") == sr and at.get("power") == 1, "STFT attributes recorded")
check(at.get("n_files") == 4 and at.get("n_frames") == N, f"n_files {at.get('n_files')}, n_frames {at.get('n_frames')}")
check(at.get("files", "").split("\n") == files, "the inputs recorded in order")
check(abs(at.get("seconds", 0) - sum(lengths) / sr) < 1e-9, f"seconds {at.get('seconds')}")
check("loss" in at and "n_iter" in at and "options" in at, "loss, n_iter and options recorded")
finish()
