#!/usr/bin/python3
"""Make specnmf's bundled example recording, and the true stems behind it.

Real instrument recordings only, all openly licensed and shipped by Debian:
  drums  - Colombo Acoustic Drumkit samples (hydrogen-drumkits; GPL-2+ with a
           composition exception): kick, snare, closed and open hi-hat
  piano, bass - FluidR3_GM SoundFont (fluid-soundfont-gm; MIT), rendered with
           fluidsynth from a MIDI file written here
See examples/README.md for sources and licences.

As a module, a test can regenerate mixtures and their stems:
    from make_example import make_mixture
    mix, stems = make_mixture("drums", 8.0, 22050)   # stems: kick, snare, hihat
    mix, stems = make_mixture("piano_drums", 8.0, 22050)
Kinds: "drums" (kick, snare, hihat), "piano_drums" (piano, drums),
"bass_drums" (bass, drums), "piano_bass_drums" (piano, bass, drums).
mix is float32 mono, exactly the sum of the float32 stems (same length
round(seconds * sr)). Deterministic: same arguments, same samples.

As a script: writes examples/example.flac (stereo, 22050 Hz, 16-bit, 20 s,
"piano_bass_drums"; the channel mean is the mono mixture up to 16-bit
rounding) unless --out says otherwise.
Needs: python3-numpy, python3-scipy, python3-soundfile, fluidsynth,
fluid-soundfont-gm, hydrogen-drumkits.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

KIT = "/usr/share/hydrogen/data/drumkits/ColomboAcousticDrumkit"
SF2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
DRUM_FILES = {
    "kick": ["bassdrum-4mics-br-stereo-normal3.flac", "bassdrum-4mics-br-stereo-soft2.flac"],
    "snare": ["snare-opaque-normal-mic-normal_shot2.flac", "snare-opaque-normal-mic-normal_shot3.flac"],
    "hihat": ["hihat-closed-1.flac", "hihat-closed-4.flac", "hihat-open-1.flac"],
}
BPM = 100.0
KINDS = {
    "drums": ["kick", "snare", "hihat"],
    "piano_drums": ["piano", "drums"],
    "bass_drums": ["bass", "drums"],
    "piano_bass_drums": ["piano", "bass", "drums"],
}
# stem levels (RMS over the stem) in the mixture
LEVEL = {"kick": 0.10, "snare": 0.07, "hihat": 0.03, "piano": 0.08, "bass": 0.08}

_cache = {}


def _load_sample(name, sr):
    key = (name, sr)
    if key not in _cache:
        x, fs = sf.read(os.path.join(KIT, name), dtype="float64", always_2d=True)
        x = x.mean(axis=1)
        if fs != sr:
            g = np.gcd(int(fs), int(sr))
            x = resample_poly(x, sr // g, fs // g)
        _cache[key] = x
    return _cache[key]


def _steps(seconds):
    """16th-note step times (s) covering seconds."""
    step = 60.0 / BPM / 4
    return np.arange(0.0, seconds, step), step


def _drum_stems(seconds, sr, n):
    """kick, snare, hihat: one-bar pattern of 16 steps, repeated, with fixed
    velocity variation (deterministic)."""
    rng = np.random.default_rng(2024)
    times, _ = _steps(seconds)
    kick_steps = {0, 6, 8, 10}       # 1, the 'and' of 2, 3, the 'and' of 3
    snare_steps = {4, 12}            # 2 and 4
    out = {k: np.zeros(n) for k in DRUM_FILES}
    for i, t0 in enumerate(times):
        s = i % 16
        bar = i // 16
        hits = []
        if s in kick_steps:
            hits.append(("kick", DRUM_FILES["kick"][0 if s in (0, 8) else 1], 1.0 if s in (0, 8) else 0.7))
        if s in snare_steps:
            hits.append(("snare", DRUM_FILES["snare"][bar % 2], 1.0))
        if s % 2 == 0:
            open_hat = s == 14
            f = DRUM_FILES["hihat"][2] if open_hat else DRUM_FILES["hihat"][(s // 2) % 2]
            hits.append(("hihat", f, 0.9 if s % 4 == 0 else 0.6))
        for stem, f, vel in hits:
            x = _load_sample(f, sr) * vel * (1.0 + 0.08 * rng.standard_normal())
            a = int(round(t0 * sr))
            b = min(n, a + len(x))
            if b > a:
                out[stem][a:b] += x[:b - a]
    return out


def _vlq(v):
    b = [v & 0x7F]
    v >>= 7
    while v:
        b.append(0x80 | (v & 0x7F))
        v >>= 7
    return bytes(reversed(b))


def _write_midi(path, notes, program, channel=0):
    """Type-0 SMF: notes = [(start_s, dur_s, pitch, velocity)] on one channel
    (0-15; GM's percussion is channel 9, where program picks the kit)."""
    div = 480
    tick = lambda s: int(round(s * BPM / 60.0 * div))
    ev = []
    for (s, d, p, v) in notes:
        ev.append((tick(s), 1, bytes([0x90 | channel, p, v])))
        ev.append((tick(s + d), 0, bytes([0x80 | channel, p, 0])))
    ev.sort(key=lambda e: (e[0], e[1]))
    trk = bytearray()
    trk += _vlq(0) + b"\xff\x51\x03" + int(60e6 / BPM).to_bytes(3, "big")
    trk += _vlq(0) + bytes([0xC0 | channel, program])
    last = 0
    for t, _, data in ev:
        trk += _vlq(t - last) + data
        last = t
    trk += _vlq(div) + b"\xff\x2f\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, div))
        f.write(b"MTrk" + struct.pack(">I", len(trk)) + trk)


def _render(notes, program, sr, n, channel=0):
    """Render a note list with fluidsynth (no reverb or chorus) to n samples,
    mono; channel 9 plays GM percussion (program = the kit)."""
    exe = shutil.which("fluidsynth")
    if not exe or not os.path.exists(SF2):
        raise RuntimeError("make_example needs fluidsynth and %s (Debian: fluidsynth fluid-soundfont-gm)" % SF2)
    with tempfile.TemporaryDirectory() as d:
        mid, wav = os.path.join(d, "in.mid"), os.path.join(d, "out.wav")
        _write_midi(mid, notes, program, channel)
        cmd = [exe, "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(sr), "-O", "float", "-T", "wav",
               "-F", wav, SF2, mid]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        x, fs = sf.read(wav, dtype="float64", always_2d=True)
    if fs != sr:
        raise RuntimeError("fluidsynth rendered at %d Hz, not %d" % (fs, sr))
    x = x.mean(axis=1)
    y = np.zeros(n)
    y[:min(n, len(x))] = x[:n]
    return y


# C - A minor - F - G, one chord per bar (4 beats)
CHORDS = [(48, [60, 64, 67]), (45, [57, 60, 64]), (41, [53, 57, 60]), (43, [55, 59, 62])]


def _piano_notes(seconds):
    beat = 60.0 / BPM
    notes, t, bar = [], 0.0, 0
    while t < seconds:
        _, triad = CHORDS[bar % 4]
        arp = [triad[0], triad[1], triad[2], triad[1] + 12, triad[2], triad[1], triad[0] + 12, triad[2]]
        for k, p in enumerate(arp):
            s = t + k * beat / 2
            if s < seconds:
                notes.append((s, beat / 2 * 0.95, p, 80 if k % 2 == 0 else 64))
        t += 4 * beat
        bar += 1
    return notes


def _bass_notes(seconds):
    beat = 60.0 / BPM
    notes, t, bar = [], 0.0, 0
    while t < seconds:
        root, _ = CHORDS[bar % 4]
        for k, p in enumerate([root, root, root + 7, root + 12 if bar % 2 else root + 7]):
            s = t + k * beat
            if s < seconds:
                notes.append((s, beat * 0.8, p - 12 if p >= 48 else p, 100))
        t += 4 * beat
        bar += 1
    return notes


def _level(x, target):
    r = np.sqrt(np.mean(x * x))
    return x * (target / r) if r > 0 else x


def make_stems(kind, seconds, sr):
    """dict of float64 mono stems (length round(seconds * sr)) for kind."""
    if kind not in KINDS:
        raise ValueError("kind must be one of %s" % ", ".join(KINDS))
    n = int(round(seconds * sr))
    parts = KINDS[kind]
    stems = {}
    if "drums" in parts or "kick" in parts:
        d = _drum_stems(seconds, sr, n)
        d = {k: _level(v, LEVEL[k]) for k, v in d.items()}
        if "drums" in parts:
            stems["drums"] = d["kick"] + d["snare"] + d["hihat"]
        else:
            stems.update(d)
    if "piano" in parts:
        stems["piano"] = _level(_render(_piano_notes(seconds), 0, sr, n), LEVEL["piano"])
    if "bass" in parts:
        stems["bass"] = _level(_render(_bass_notes(seconds), 33, sr, n), LEVEL["bass"])
    return {k: stems[k] for k in parts}


def make_mixture(kind, seconds, sr):
    """(mixture, stems): float32 mono; mixture == sum of the float32 stems
    (summed in float64, then rounded). Peak of the mixture <= 0.9."""
    stems = make_stems(kind, seconds, sr)
    total = sum(stems.values())
    peak = np.max(np.abs(total))
    g = 0.9 / peak if peak > 0.9 else 1.0
    stems = {k: (v * g).astype(np.float32) for k, v in stems.items()}
    mix = np.sum([v.astype(np.float64) for v in stems.values()], axis=0).astype(np.float32)
    return mix, stems


# stereo placement of the bundled example: (left, right) gains averaging to 1,
# so the channel mean is the mono mixture
PAN = {"piano": (1.3, 0.7), "bass": (1.0, 1.0), "drums": (0.85, 1.15)}


def make_example(path, seconds=20.0, sr=22050):
    mix, stems = make_mixture("piano_bass_drums", seconds, sr)
    st = np.zeros((len(mix), 2))
    for k, v in stems.items():
        st[:, 0] += PAN[k][0] * v
        st[:, 1] += PAN[k][1] * v
    peak = np.max(np.abs(st))
    if peak >= 1.0:
        raise RuntimeError("stereo example clips (peak %.3f)" % peak)
    sf.write(path, st, sr, format="FLAC", subtype="PCM_16")
    return mix, stems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "example.flac"))
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--sr", type=int, default=22050)
    ap.add_argument("--stems", help="also write the true mono stems as float WAVs into this folder")
    a = ap.parse_args()
    mix, stems = make_example(a.out, a.seconds, a.sr)
    if a.stems:
        os.makedirs(a.stems, exist_ok=True)
        sf.write(os.path.join(a.stems, "mixture.wav"), mix, a.sr, subtype="FLOAT")
        for k, v in stems.items():
            sf.write(os.path.join(a.stems, k + ".wav"), v, a.sr, subtype="FLOAT")
    print("%s: %.1f s, %d Hz, stereo FLAC, %d bytes; stems: %s"
          % (a.out, len(mix) / a.sr, a.sr, os.path.getsize(a.out), ", ".join(stems)))


if __name__ == "__main__":
    sys.exit(main())
