#!/usr/bin/python3
"""Audio input and the parallel WAV writer at SN_NP ranks, checked against
soundfile/numpy/scipy (independent of specnmf's C code):
  - mono mix = numpy mean of the channels (librosa to_mono), --channel, --normalize
    (x / max|x|), all read by ranks in blocks and written back with sn_wav;
  - resampling 44100 -> 22050 and 48000 -> 22050 (soxr HQ) vs
    scipy.signal.resample_poly on band-limited tones: same grid (no shift),
    same length ceil(n * out / in), max error <= 2e-3 of the peak;
  - spans over the file ends are zero outside;
  - the WAV writer: exact float32 round trip through libsndfile (soundfile)
    for several sizes, RIFF and forced RF64, header size, no temporary files
    left, and clean agreed failures (exists, bad span, bad folder, abort).
Usage: test_audio_io.py TOOL   (env: SN_MPIRUN, SN_TMP)"""
import glob
import os
import shlex
import subprocess
import sys

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

TOOL = sys.argv[1]
MPIRUN = shlex.split(os.environ.get("SN_MPIRUN", ""))
TMP = os.environ.get("SN_TMP", "/tmp/sn_test_audio_io")
os.makedirs(TMP, exist_ok=True)
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*args, expect_ok=True, serial=False):
    cmd = ([] if serial else MPIRUN) + [TOOL] + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=100)
    if expect_ok and p.returncode != 0:
        print(p.stdout, p.stderr)
    return p


def t(name):
    return os.path.join(TMP, name)


def pattern(n):
    i = np.arange(n, dtype=np.int64)
    return (((i * 7919) % 65536 - 32768) / 32768.0).astype(np.float32)


rng = np.random.default_rng(7)

# ---- mixing, channel, normalize (stereo PCM16 and 3-channel float) ---------
n = 44100 * 2 + 123
tt = np.arange(n) / 44100.0
st = np.stack([0.4 * np.sin(2 * np.pi * 440 * tt) + 0.05 * rng.standard_normal(n),
               0.3 * np.sin(2 * np.pi * 660 * tt + 1)], axis=1)
sf.write(t("st16.wav"), st, 44100, subtype="PCM_16")
ref = sf.read(t("st16.wav"), dtype="float32")[0]  # what libsndfile decodes
tri = rng.uniform(-0.8, 0.8, size=(30011, 3)).astype(np.float32)
sf.write(t("tri.wav"), tri, 16000, subtype="FLOAT")

p = run("read", t("st16.wav"), t("mean.wav"))
y, sr = sf.read(t("mean.wav"), dtype="float32")
mean = ref.mean(axis=1)
check(p.returncode == 0 and sr == 44100 and y.shape == mean.shape and np.max(np.abs(y - mean)) <= 1e-7,
      "stereo pcm16 -> mean of channels (numpy), max err %.2g" % (np.max(np.abs(y - mean)) if y.shape == mean.shape else -1))

p = run("read", t("tri.wav"), t("tri_mean.wav"))
y, _ = sf.read(t("tri_mean.wav"), dtype="float32")
check(p.returncode == 0 and y.shape == (30011,) and np.max(np.abs(y - tri.mean(axis=1))) <= 1e-7,
      "3-channel float -> mean (numpy)")

for c in range(2):
    p = run("read", t("st16.wav"), t("ch%d.wav" % c), "--channel", c)
    y, _ = sf.read(t("ch%d.wav" % c), dtype="float32")
    check(p.returncode == 0 and np.array_equal(y, ref[:, c]), "--channel %d equals soundfile's channel" % c)

p = run("read", t("st16.wav"), t("norm.wav"), "--normalize")
y, _ = sf.read(t("norm.wav"), dtype="float32")
want = mean / np.max(np.abs(mean))
check(p.returncode == 0 and np.max(np.abs(y - want)) <= 1e-6 and abs(np.max(np.abs(y)) - 1) <= 1e-6,
      "--normalize = x / max|x| (librosa.util.normalize), max err %.2g" % np.max(np.abs(y - want)))

p = run("read", t("st16.wav"), t("bad.wav"), "--channel", 2, expect_ok=False)
check(p.returncode == 1 and "channel 2 out of range" in p.stderr and p.stderr.count("error:") == 1,
      "--channel 2 of a stereo file: one clear error (%s)" % p.stderr.strip())

# ---- resampling vs scipy resample_poly -------------------------------------
for rin, up, down in [(44100, 1, 2), (48000, 147, 320)]:
    nin = int(rin * 1.5) + 17
    x = np.zeros(nin)
    tin = np.arange(nin) / rin
    for f, a in [(220.0, 0.3), (1234.5, 0.2), (5000.0, 0.15), (8000.0, 0.1)]:
        x += a * np.sin(2 * np.pi * f * tin + f)
    x = x.astype(np.float32)
    name = t("tones%d.wav" % rin)
    sf.write(name, x, rin, subtype="FLOAT")
    p = run("read", name, t("rs%d.wav" % rin), "--rate", 22050)
    y, sr = sf.read(t("rs%d.wav" % rin), dtype="float64")
    nout = int(np.ceil(nin * 22050 / rin))
    r = resample_poly(x.astype(np.float64), up, down)
    m = min(len(r), len(y))
    err = np.max(np.abs(y[200:m - 200] - r[200:m - 200])) / np.max(np.abs(r))
    # the grid: best lag of the cross-correlation is 0
    c = [np.dot(y[300:m - 300], r[300 + k:m - 300 + k]) for k in (-1, 0, 1)]
    check(p.returncode == 0 and sr == 22050 and len(y) == nout and err <= 2e-3 and int(np.argmax(c)) == 1,
          "%d -> 22050 Hz: length %d == ceil %d, max |soxr - resample_poly| %.2g of peak, lag 0"
          % (rin, len(y), nout, err))

# ---- spans over the ends ----------------------------------------------------
for s0, cnt in [(-50, 120), (len(mean) - 30, 100), (len(mean) + 5, 10)]:
    p = run("span", t("st16.wav"), s0, cnt, t("span.f32"), serial=True)
    z = np.fromfile(t("span.f32"), dtype=np.float32)
    want = np.zeros(cnt, dtype=np.float32)
    lo, hi = max(s0, 0), min(s0 + cnt, len(mean))
    if hi > lo:
        want[lo - s0:hi - s0] = mean[lo:hi]
    check(p.returncode == 0 and len(z) == cnt and np.max(np.abs(z - want)) <= 1e-7,
          "span [%d, %d) with zeros outside [0, %d)" % (s0, s0 + cnt, len(mean)))

# ---- the parallel WAV writer -------------------------------------------------
for N, extra in [(0, []), (1, []), (2, []), (100003, []), (100003, ["--pieces", 3]),
                 (54321, ["--rf64"]), (7, ["--rf64", "--pieces", 2]), (10007, ["--chunk", 1000]),
                 (10007, ["--chunk", 333, "--pieces", 2])]:
    out = t("w_%d_%s.wav" % (N, "_".join(str(a) for a in extra).replace("-", "")))
    p = run("wav", N, 22050, out, *extra)
    ok = p.returncode == 0 and os.path.exists(out)
    if ok:
        info = sf.info(out)
        y, sr = sf.read(out, dtype="float32")
        ok = (sr == 22050 and info.channels == 1 and info.subtype == "FLOAT" and len(y) == N
              and np.array_equal(y, pattern(N)) and os.path.getsize(out) == 94 + 4 * N
              and info.format == ("RF64" if "--rf64" in extra else "WAV"))
        with open(out, "rb") as f:
            head = f.read(16)
        ok = ok and head[:4] == (b"RF64" if "--rf64" in extra else b"RIFF") and head[12:16] == (
            b"ds64" if "--rf64" in extra else b"JUNK")
    check(ok, "sn_wav %d samples %s: soundfile reads back the exact float32 samples" % (N, " ".join(map(str, extra))))

leftover = glob.glob(os.path.join(TMP, "*.part*"))
check(not leftover, "no temporary files left (%s)" % leftover)

exists = t("w_100003_.wav")
p = run("wav", 10, 22050, exists, expect_ok=False)
check(p.returncode == 1 and "exists" in p.stderr and p.stderr.count("error:") == 1 and len(sf.read(exists)[0]) == 100003,
      "existing output without --force: one error, file untouched (%s)" % p.stderr.strip())
p = run("wav", 10, 22050, exists, "--force")
check(p.returncode == 0 and len(sf.read(exists)[0]) == 10, "existing output with --force is replaced")

bad = t("badspan.wav")
p = run("wav", 1000, 22050, bad, "--bad-span", expect_ok=False)
check(p.returncode == 1 and "outside" in p.stderr and not os.path.exists(bad) and not glob.glob(bad + ".part*"),
      "a rank writing outside the file: agreed failure, nothing left (%s)" % p.stderr.strip())
p = run("wav", 1000, 22050, t("nodir/x.wav"), expect_ok=False)
check(p.returncode == 1 and "cannot create" in p.stderr, "output in a missing folder: %s" % p.stderr.strip())
p = run("wav", 1000, 22050, t("aborted.wav"), "--abort")
check(p.returncode == 0 and not os.path.exists(t("aborted.wav")) and not glob.glob(t("aborted.wav") + ".part*"),
      "close without commit removes the temporary file")
p = run("wav", 1000, 0, t("rate0.wav"), expect_ok=False)
check(p.returncode == 1 and "bad sample rate" in p.stderr, "WAV output at rate 0: %s" % p.stderr.strip())

if failures:
    print("FAILED:", *failures, sep="\n  ")
    sys.exit(1)
print("all audio io checks passed at", os.environ.get("SN_NP", "1"), "ranks")
