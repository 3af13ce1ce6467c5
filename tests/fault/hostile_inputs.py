"""Hostile inputs (issue 7), at SN_NP ranks: lying WAV/FLAC headers, absurd
channel counts and sample rates, HDF5 files with wrong ranks, types, shapes,
chunking and attributes, dimensions whose products overflow 32 bits, odd
paths, an output past the file-size limit, an output under a regular file.

Each case must be either refused (exit 2-5, exactly one "specnmf: error:"
line, no output file) or handled (exit 0 with its output) - never a signal
(crash), a hang (per-launch time limit), more than one error line, or a
file written anywhere but the output (the folder is listed before/after)."""
import os
import resource
import shlex
import struct
import subprocess
import sys

import h5py
import numpy as np
import soundfile as sf
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "py"))
from sn_testlib import kill_job  # noqa: E402  (SIGKILL mpirun and its ranks)

SPECNMF = os.environ["SPECNMF"]
MPIRUN = shlex.split(os.environ["SN_MPIRUN"])
NP = int(os.environ.get("SN_NP", "1"))
TMP = os.environ["SN_TMP"]
FAILS = []
TABLE = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)


def t(name):
    return os.path.join(TMP, name)


def error_lines(err):
    return [l for l in err.splitlines() if l.startswith("specnmf: error:")]


def launch(args, limits=None, wrap=None, timeout=60):
    cmd = list(MPIRUN)
    if wrap:  # a shell around each rank (limits on the ranks only, not on mpirun)
        cmd += ["/bin/sh", "-c", wrap + ' "$0" "$@"', SPECNMF] + [str(a) for a in args]
    else:
        cmd += [SPECNMF] + [str(a) for a in args]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                         preexec_fn=limits)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, err
    except subprocess.TimeoutExpired:
        kill_job(p)
        out, err = p.communicate()
        return None, err


def case(name, args, out, expect="either", wrap=None, limits=None, allow_new=(), post=()):
    """expect: 'refuse', 'ok' or 'either'."""
    if os.path.isdir(out):
        pass
    elif os.path.exists(out):
        os.remove(out)
    before = set(os.listdir(TMP))
    rc, err = launch(list(args) + ["-o", out, "-q"] + list(post), limits=limits, wrap=wrap)
    lines = error_lines(err)
    new = set(os.listdir(TMP)) - before - {os.path.basename(out)} - set(allow_new)
    if rc is None:
        verdict, good = "HANG", False
    elif rc == 0:
        verdict, good = "handled", os.path.exists(out) and expect != "refuse"
    elif rc in (2, 3, 4, 5):
        verdict = "refused"
        good = len(lines) == 1 and not os.path.exists(out) and expect != "ok"
    else:
        verdict, good = f"exit {rc} (signal or abort)", False
    good = good and not new
    msg = lines[0][len("specnmf: error: "):] if lines else ""
    TABLE.append((name, verdict + ("" if good else " - WRONG"), msg.replace(TMP + "/", "")))
    check(good, f"{name}: {verdict}, exit {rc}, {len(lines)} error line(s), new files {sorted(new)}: {msg}"
          + ("" if good else "\n" + err[-1500:]))
    if os.path.exists(out) and not os.path.isdir(out):
        os.remove(out)


# ---- WAV/FLAC headers ------------------------------------------------------------
def wav_bytes(channels=1, rate=8000, bits=16, fmt=1, data=b"\0" * 800, riff_size=None, data_size=None,
              block_align=None, byte_rate=None):
    ba = block_align if block_align is not None else channels * bits // 8
    br = byte_rate if byte_rate is not None else rate * ba
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, br & 0xFFFFFFFF, ba & 0xFFFF, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk + b"data" + \
        struct.pack("<I", len(data) if data_size is None else data_size) + data
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


def write(name, blob):
    with open(t(name), "wb") as f:
        f.write(blob)
    return t(name)


sr = 8000
y = (0.3 * np.sin(2 * np.pi * 440 * np.arange(8000) / sr)).astype(np.float32)
pcm = (y * 32767).astype("<i2").tobytes()
good = t("good.wav")
sf.write(good, y, sr, subtype="FLOAT")
S = ["--n-fft", "256"]

wavs = [
    ("WAV data size larger than the file", wav_bytes(data=pcm, data_size=0x7FFFFFF0), "either"),
    ("WAV data size 0xFFFFFFFF", wav_bytes(data=pcm, data_size=0xFFFFFFFF), "either"),
    ("WAV RIFF size smaller than the data", wav_bytes(data=pcm, riff_size=40), "either"),
    ("WAV 65535 channels", wav_bytes(channels=65535, data=pcm), "refuse"),
    ("WAV 1025 channels", wav_bytes(channels=1025, data=pcm * 2), "refuse"),
    ("WAV 0 channels", wav_bytes(channels=0, data=pcm), "refuse"),
    ("WAV sample rate 0", wav_bytes(rate=0, data=pcm), "refuse"),
    ("WAV sample rate 10^9", wav_bytes(rate=1000000000, data=pcm), "refuse"),
    ("WAV sample rate 0xFFFFFFFF", wav_bytes(rate=0xFFFFFFFF, data=pcm), "refuse"),
    ("WAV sample rate 1 Hz", wav_bytes(rate=1, data=pcm), "either"),
    ("WAV 7 bits per sample", wav_bytes(bits=7, data=pcm), "either"),
    ("WAV 0 bits per sample", wav_bytes(bits=0, data=pcm), "refuse"),
    ("WAV block align 0", wav_bytes(data=pcm, block_align=0), "either"),
    ("WAV unknown format tag", wav_bytes(fmt=0x1234, data=pcm), "refuse"),
    ("WAV header only", wav_bytes(data=b"", data_size=1000000), "either"),
    ("WAV truncated inside fmt", wav_bytes(data=pcm)[:30], "refuse"),
]
for name, blob, exp in wavs:
    path = write("hostile.wav", blob)
    case(name, ["stft", path] + S, t("o.h5"), exp)

# FLAC: a valid file, then STREAMINFO fields rewritten.
flac = t("good.flac")
sf.write(flac, y, sr, subtype="PCM_16")
fb = bytearray(open(flac, "rb").read())
si = 8  # "fLaC" + metadata block header (4) -> STREAMINFO body at offset 8


def flac_with(rate=None, channels=None, total=None, trunc=None):
    b = bytearray(fb)
    bits = int.from_bytes(b[si + 10:si + 18], "big")  # 20 rate | 3 ch-1 | 5 bps-1 | 36 total
    r, ch, bps, tot = bits >> 44, (bits >> 41) & 7, (bits >> 36) & 31, bits & ((1 << 36) - 1)
    r = r if rate is None else rate
    ch = ch if channels is None else channels
    tot = tot if total is None else total
    bits = (r << 44) | (ch << 41) | (bps << 36) | tot
    b[si + 10:si + 18] = bits.to_bytes(8, "big")
    return bytes(b[:trunc] if trunc else b)


flacs = [
    ("FLAC sample rate 0 in STREAMINFO", flac_with(rate=0), "either"),
    ("FLAC 8 channels declared, 1 coded", flac_with(channels=7), "either"),
    ("FLAC total samples 2^36-1 (lying)", flac_with(total=(1 << 36) - 1), "either"),
    ("FLAC truncated to half", flac_with(trunc=len(fb) // 2), "either"),
    ("FLAC truncated after STREAMINFO", flac_with(trunc=42), "either"),
]
for name, blob, exp in flacs:
    path = write("hostile.flac", blob)
    case(name, ["stft", path] + S, t("o.h5"), exp)

# ---- HDF5 audio and spectrograms ----------------------------------------------------
def h5(name, build):
    p = t(name)
    with h5py.File(p, "w") as f:
        build(f)
    return p


def audio(data, rate=8000.0, **kw):
    def b(f):
        d = f.create_dataset("audio", data=data, **kw)
        if rate is not None:
            d.attrs["sample_rate"] = rate
    return b


h5cases = [
    ("HDF5 audio sample_rate 0", audio(y, 0.0), "refuse"),
    ("HDF5 audio sample_rate 1e9", audio(y, 1e9), "refuse"),
    ("HDF5 audio sample_rate NaN", audio(y, float("nan")), "refuse"),
    ("HDF5 audio sample_rate -8000", audio(y, -8000.0), "refuse"),
    ("HDF5 audio without sample_rate", audio(y, None), "refuse"),
    ("HDF5 audio 2-D", audio(np.stack([y, y])), "either"),
    ("HDF5 audio 3-D", audio(y.reshape(2, 4, 1000)), "refuse"),
    ("HDF5 audio of strings", audio(np.array([b"abc"] * 10)), "refuse"),
    ("HDF5 audio empty", audio(np.zeros(0, np.float32)), "refuse"),
    ("HDF5 audio chunked (1,)", audio(y, chunks=(1,)), "ok"),
    ("HDF5 audio gzip", audio(y, compression="gzip"), "ok"),
    ("HDF5 audio declared 2^33 samples, nothing stored",
     lambda f: (f.create_dataset("audio", shape=(1 << 33,), dtype="f4", chunks=(1 << 16,)),
                f["audio"].attrs.__setitem__("sample_rate", 8000.0)), "refuse"),
]
for name, build, exp in h5cases:
    path = h5("hostile-audio.h5", build)
    # nothing stored: the spectrogram of 2^33 zero samples would need ~34 GB per rank
    case(name, ["stft", path] + S, t("o.h5"), exp)

# spectrograms for nmf / istft / nnls
ok_spec = t("spec.h5")
rc, err = launch(["stft", good, "-o", ok_spec, "--complex", "-q"] + S)
assert rc == 0, err
with h5py.File(ok_spec, "r") as f:
    attrs = dict(f["/stft/magnitude"].attrs)
    M = f["/stft/magnitude"][...]


def spec(data=None, shape=None, dtype="f4", chunks=None, attr=None, drop=None, path="/stft/magnitude"):
    def b(f):
        if data is not None:
            d = f.create_dataset(path, data=data, chunks=chunks)
        else:
            d = f.create_dataset(path, shape=shape, dtype=dtype, chunks=chunks)
        for k, v in attrs.items():
            if k != drop:
                d.attrs[k] = v
        for k, v in (attr or {}).items():
            d.attrs[k] = v
    return b


big = int(os.environ.get("SN_HOSTILE_BIG", "65537"))
spec_cases = [
    ("spectrogram 1-D", spec(M[:, 0]), "refuse"),
    ("spectrogram 3-D", spec(M[None]), "refuse"),
    ("spectrogram of strings", spec(np.array([[b"x"] * 4] * 129)), "refuse"),
    ("spectrogram int16", spec(M.astype(np.int16)), "either"),
    ("spectrogram with NaN", spec(np.where(M > M.max() / 2, np.nan, M).astype(np.float32)), "refuse"),
    ("spectrogram negative", spec(-M), "refuse"),
    ("spectrogram (129, 0)", spec(shape=(129, 0)), "refuse"),
    ("spectrogram rows != n_fft/2+1", spec(M[:100]), "either"),
    ("spectrogram chunked (1, 1)", spec(M, chunks=(1, 1)), "ok"),
    ("spectrogram n_fft attribute -4", spec(M, attr={"n_fft": -4}), "either"),
    ("spectrogram hop_length 0", spec(M, attr={"hop_length": 0}), "either"),
    ("spectrogram sample_rate NaN", spec(M, attr={"sample_rate": float("nan")}), "either"),
    ("spectrogram window attribute a number", spec(M, attr={"window": 3}), "either"),
    (f"spectrogram declared ({big}, {big}), nothing stored",
     spec(shape=(big, big), chunks=(64, 64), attr={"n_fft": 2 * (big - 1)}), "refuse"),
]
model = t("model.h5")
rc, err = launch(["nmf", ok_spec, "-k", "2", "--max-iter", "3", "-o", model, "-q"])
assert rc == 0, err
# Memory guard for the declared-huge cases: at most 3 GiB of address space per
# rank, so an attempt to allocate the block fails at once instead of swapping the
# machine (AddressSanitizer reserves terabytes of address space: not there).
asan = b"asan" in subprocess.run(["ldd", SPECNMF], capture_output=True).stdout
LIM = None if asan else (lambda: resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)))
for name, build, exp in spec_cases:
    path = h5("hostile-spec.h5", build)
    huge = "declared" in name
    for cmd in (["nmf", path, "-k", "2", "--max-iter", "3"], ["nnls", "--basis", model, path],
                ["mel", path, "--n-mels", "8"]):
        if huge and asan:
            print(f"skip {name} {cmd[0]}: AddressSanitizer build (no address-space limit possible)")
            continue
        # 'rows != n_fft/2+1' and bad attributes are fine for nmf (it needs no STFT parameters)
        e = exp if cmd[0] != "nmf" or exp == "refuse" else "either"
        if cmd[0] in ("nnls", "mel") and name == "spectrogram negative":
            e = "either"  # negative data is valid input for NNLS and a mel projection
        case(f"{cmd[0]}: {name}", cmd, t("o.h5"), e, limits=LIM if huge else None)
# istft on a complex dataset of the wrong type
path = h5("hostile-cplx.h5", spec(M, path="/stft/complex"))
case("istft: /stft/complex is real, not complex", ["istft", path], t("o.wav"), "refuse")

# ---- paths -------------------------------------------------------------------------
odd = t("dir with spaces ü ñ")
os.makedirs(odd, exist_ok=True)
dash = t("-leading-dash.wav")
sf.write(dash, y, sr, subtype="FLOAT")
uni = os.path.join(odd, "звук 音.wav")
sf.write(uni, y, sr, subtype="FLOAT")
os.chdir(TMP)
case("input with a leading dash after --", ["stft"] + S, t("dash.h5"), "ok", post=["--", "-leading-dash.wav"])
case("input with a leading dash, no --", ["stft"] + S, t("dash.h5"), "refuse", post=["-leading-dash.wav"])
case("unicode and spaces in input and output", ["stft", uni] + S, os.path.join(odd, "вывод ü.h5"), "ok",
     allow_new=[os.path.basename(odd)])
case("output named with a leading dash", ["stft", good] + S, "-out.h5", "ok", allow_new=["-out.h5"])
if os.path.exists(t("-out.h5")):
    os.remove(t("-out.h5"))
case("newline in the output name", ["stft", good] + S, t("a\nb.h5"), "either")
if os.path.exists(t("a\nb.h5")):
    os.remove(t("a\nb.h5"))

# ---- outputs that cannot be written --------------------------------------------------
regular = t("regular-file")
open(regular, "w").write("x")
for cmd, out in ((["stft", good] + S, "o.h5"), (["istft", ok_spec], "o.wav"), (["nmf", ok_spec, "-k", "2"], "o.h5"),
                 (["nnls", "--basis", model, ok_spec], "o.h5"), (["mel", good, "--n-mels", "8"] + S, "o.h5"),
                 (["separate", good, "-k", "2", "--max-iter", "3"] + S, "sep")):
    case(f"{cmd[0]}: output under a regular file", cmd, os.path.join(regular, out), "refuse")
    # (separate makes its output folder, parents included)
    case(f"{cmd[0]}: output in a missing folder", cmd, t(os.path.join("no", "such", out)),
         "either" if cmd[0] == "separate" else "refuse", allow_new=["no"] if cmd[0] == "separate" else [])
# past the file-size limit: ulimit -f on the ranks (not on mpirun)
long_wav = t("long.wav")
sf.write(long_wav, np.tile(y, 300), sr, subtype="FLOAT")  # 300 s: outputs of 9-60 MB
rc, err = launch(["stft", long_wav, "-o", t("long.h5"), "--complex", "-q"] + S)
assert rc == 0, err
# (8 MiB: MPI_Init's shared-memory segments need a few MiB themselves)
for cmd, out in ((["stft", long_wav, "--complex"] + S, "fs.h5"), (["istft", t("long.h5")], "fs.wav"),
                 (["istft", t("long.h5")], "fs.h5"),
                 (["nmf", t("long.h5"), "-k", "64", "--max-iter", "1", "--init", "random"], "fs.h5"),
                 (["mel", long_wav, "--n-mels", "64"] + S, "fs.h5")):
    case(f"{cmd[0]} -o {out}: past the file-size limit (ulimit -f 8 MiB)", cmd, t(out), "refuse",
         wrap="ulimit -f 16384; exec")

# ---- the table for docs/reliability.md ------------------------------------------------
print("\n| case | outcome | message |\n| --- | --- | --- |")
for name, verdict, msg in TABLE:
    print(f"| {name} | {verdict} | {msg[:110]} |")
print(f"\n{len(TABLE)} cases")
print(f"{len(FAILS)} failed checks" if FAILS else "all checks passed")
sys.exit(1 if FAILS else 0)
