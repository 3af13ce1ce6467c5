#!/usr/bin/python3
"""Make training recordings per instrument and test mixtures with true stems,
for supervised separation (learn a dictionary per instrument from examples,
then separate a mixture with the dictionaries held fixed).

Same instruments as examples/make_example.py (whose helpers this imports):
piano (GM 0) and bass (GM 33) of the FluidR3_GM SoundFont rendered by
fluidsynth, drums from the Colombo Acoustic Drumkit (hydrogen-drumkits). The
music is generated at random from a seed: a key (major or minor), a chord
progression and harmonic rhythm, a tempo of 80-140 bpm, 4/4 or 3/4, swing,
piano style (arpeggio, block comping, stride, melody over chords), bass line,
one-bar drum groove with variations and fills, velocities and timing jitter.

Training and test differ by construction:
  - different random streams (training and test seeds are tagged apart, and
    the command line refuses overlapping seeds), so other keys, progressions,
    tempi, patterns and velocities; a training recording is a chain of 15-30 s
    sections, each its own song (tempo, key, style), levelled +-4 dB apart;
  - different drum samples of the same kit (TRAIN_DRUMS vs TEST_DRUMS):
    the test kit is the bundled example's, training uses the kit's other
    velocity layers and shots.

As a module:
    from make_material import train_stem, test_mixture
    x = train_stem("piano", 120.0, 22050, seed=0)          # float32 mono
    mix, stems = test_mixture("piano_bass_drums", 30.0, 22050, seed=1001)
    mixs, stemss = test_mixture("kick_snare", 30.0, 22050, 1001, stereo=True)
Instruments: piano, bass, drums, kick, snare (kick and snare are the kick and
snare parts of the training drums). Kinds: piano_bass_drums, kick_snare.
mix is exactly the float32 sum of the float32 stems (summed in float64, then
rounded); stereo: (n, 2) arrays, each stem panned to its own place with
left/right gains averaging 1, so the channel mean is the mono mixture.

As a script:
    /usr/bin/python3 examples/make_material.py --out DIR [--sr 22050]
        [--train-seconds 120] [--test-seconds 30] [--n-test 3]
        [--train-seed 0] [--test-seed 1001] [--check]
writes DIR/train/{piano,bass,drums,kick,snare}.wav,
DIR/test/KIND-SEED/{mix,STEM...}.wav and .../stereo/{mix,STEM...}.wav
(float WAV), and DIR/manifest.json (files, levels, the music and samples used).
--check also runs the listen-free checks (levels, clipping, determinism,
training vs test music) and fails if one does not hold.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_example as mx  # noqa: E402  (the instrument renderers)

# Colombo kit files by role. Test = the bundled example's samples; training =
# the kit's other velocity layers and shots of the same drums.
TEST_DRUMS = {
    "kick": {"soft": ["bassdrum-4mics-br-stereo-soft2.flac"], "hard": ["bassdrum-4mics-br-stereo-normal3.flac"]},
    "snare": {"soft": ["snare-opaque-normal-mic-normal_shot2.flac", "snare-opaque-normal-mic-normal_shot3.flac"],
              "hard": ["snare-opaque-normal-mic-normal_shot2.flac", "snare-opaque-normal-mic-normal_shot3.flac"]},
    "hihat": {"closed": ["hihat-closed-1.flac", "hihat-closed-4.flac"], "open": ["hihat-open-1.flac"]},
}
TRAIN_DRUMS = {
    "kick": {"soft": ["bassdrum-4mics-br-stereo-soft4.flac"], "hard": ["bassdrum-4mics-br-stereo-soft4.flac"]},
    "snare": {"soft": ["snare-opaque-2mics_normal-shot1.flac", "snare-opaque-normal-mic-rimshot7.flac"],
              "hard": ["snare-opaque-normal-mic-rimshot6.flac", "snare-opaque-normal-mic-rimshot2.flac",
                       "snare-opaque-2mics_normal-shot1.flac"]},
    "hihat": {"closed": ["hihat-closed-6.flac", "hihat-semi-open-1.flac"],
              "open": ["hihat-open-4.flac", "hihat-open-5.flac", "hihat-semi-open-2.flac"]},
}
PROGRAM = {"piano": 0, "bass": 33}
LEVEL = dict(mx.LEVEL)  # RMS of each stem: kick .10, snare .07, hihat .03, piano .08, bass .08
INSTRUMENTS = ["piano", "bass", "drums", "kick", "snare"]
KINDS = {"piano_bass_drums": ["piano", "bass", "drums"], "kick_snare": ["kick", "snare"]}
_TAG = {"train": 0x747261696E, "test": 0x74657374}        # separate random streams
_PART = {"piano": 1, "bass": 2, "drums": 3, "kick": 3, "snare": 3, "song": 9, "mix": 10}

MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]
NOTE = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


def _rng(role, seed, part, section=0):
    return np.random.default_rng([_TAG[role], int(seed), _PART[part], int(section)])


# ----------------------------------------------------------------- songs --

def _chord(key, mode, degree, seventh, rng):
    """(root pc, [pcs]) of a diatonic triad/seventh; minor's V is often major."""
    sc = MAJOR if mode == "major" else MINOR
    idx = [degree, degree + 2, degree + 4] + ([degree + 6] if seventh else [])
    pcs = [(key + sc[i % 7]) % 12 for i in idx]
    if mode == "minor" and degree == 4 and rng.random() < 0.7:
        pcs[1] = (pcs[1] + 1) % 12                 # harmonic minor: major V
    return pcs[0], pcs


def make_song(rng, seconds):
    """A random song plan: tempo, metre, key, progression, styles."""
    mode = "major" if rng.random() < 0.6 else "minor"
    key = int(rng.integers(12))
    n_ch = int(rng.choice([3, 4, 4, 5, 6, 8]))
    avoid = 6 if mode == "major" else 1            # the diminished triad
    w = np.array([3, 2, 1.5, 3, 3, 2.5, 1.0])
    w[avoid] = 0.2
    degs = [0]
    while len(degs) < n_ch:
        d = int(rng.choice(7, p=w / w.sum()))
        if d != degs[-1]:
            degs.append(d)
    seventh = rng.random() < 0.35
    beats = 3 if rng.random() < 0.15 else 4
    song = {
        "tempo": round(float(rng.uniform(80.0, 140.0)), 2),
        "beats": beats,
        "key": key, "mode": mode, "key_name": NOTE[key] + ("" if mode == "major" else "m"),
        "degrees": degs,
        "chord_beats": int(rng.choice([beats, beats, 2 * beats] + ([2] if beats == 4 else []))),
        "seventh": bool(seventh),
        "swing": float(rng.uniform(0.08, 0.2)) if rng.random() < 0.25 else 0.0,
        "piano_style": str(rng.choice(["arp", "arp", "block", "stride", "melody"])),
        "seconds": float(seconds),
    }
    song["chords"] = [_chord(key, mode, d, seventh, rng) for d in degs]
    return song


def _grid(song):
    step = 60.0 / song["tempo"] / 4.0              # 16th note
    return step, 4 * song["beats"]


def _t(song, step_index, step, rng, jitter=0.004):
    """Start time of a 16th step with swing (on the off 8ths) and jitter."""
    t = step_index * step
    if song["swing"] and step_index % 4 == 2:
        t += song["swing"] * 2 * step
    return max(0.0, t + jitter * rng.standard_normal())


def _chord_at(song, step_index):
    step_per_chord = 4 * song["chord_beats"]
    c = (step_index // step_per_chord) % len(song["chords"])
    return song["chords"][c], (step_index % step_per_chord) == 0


def _voice(pcs, center):
    low = center - 6
    return sorted(low + ((pc - low) % 12) for pc in pcs)


def _vel(base, rng, accent=0, spread=8):
    return int(np.clip(round(base + accent + spread * rng.standard_normal()), 20, 127))


def piano_notes(song, rng):
    """[(start_s, dur_s, pitch, velocity)] of the piano part."""
    step, spb = _grid(song)
    total = int(song["seconds"] / step) + 1
    style = song["piano_style"]
    center = int(rng.integers(55, 68))
    base = float(rng.uniform(50, 100))
    legato = float(rng.uniform(0.6, 1.6))
    notes = []
    if style == "arp":
        rate = int(rng.choice([1, 2, 2]))            # 16ths or 8ths
        length = int(rng.choice([3, 4, 6, 8]))
        order = rng.integers(0, 7, size=length)      # indices into two octaves of chord tones
        for i in range(0, total, rate):
            (root, pcs), _ = _chord_at(song, i)
            tones = _voice(pcs, center)
            tones = tones + [p + 12 for p in tones]
            p = tones[int(order[(i // rate) % length]) % len(tones)]
            acc = 10 if i % 4 == 0 else 0
            notes.append((_t(song, i, step, rng), rate * step * legato, p, _vel(base, rng, acc)))
    elif style == "block":
        mask = rng.random(spb // 2) < 0.4
        mask[0] = True
        hits = [2 * j for j in range(spb // 2) if mask[j]]
        for bar0 in range(0, total, spb):
            for h_i, h in enumerate(hits):
                i = bar0 + h
                nxt = hits[h_i + 1] if h_i + 1 < len(hits) else spb
                (root, pcs), _ = _chord_at(song, i)
                v = _vel(base, rng, 8 if h == 0 else 0)
                for p in _voice(pcs, center):
                    notes.append((_t(song, i, step, rng, 0.002), (nxt - h) * step * min(legato, 1.0), p, v))
    elif style == "stride":
        for i in range(0, total, 4):
            (root, pcs), _ = _chord_at(song, i)
            beat = (i // 4) % song["beats"]
            if beat == 0 or (song["beats"] == 4 and beat == 2):
                notes.append((_t(song, i, step, rng), 3.5 * step, center - 12 + (root - center) % 12,
                              _vel(base, rng, 10)))
            else:
                v = _vel(base, rng, -5)
                for p in _voice(pcs, center + 3):
                    notes.append((_t(song, i, step, rng, 0.002), 3.0 * step * legato, p, v))
    else:                                            # melody over held chords
        sc = MAJOR if song["mode"] == "major" else MINOR
        scale = [song["key"] + 12 * o + s for o in range(3, 8) for s in sc]
        scale = [p for p in scale if center + 5 <= p <= center + 24]
        pos = len(scale) // 2
        for i in range(0, total):
            (root, pcs), first = _chord_at(song, i)
            if first:
                v = _vel(base, rng, -10)
                for p in _voice(pcs, center - 5):
                    notes.append((_t(song, i, step, rng, 0.002), 4 * song["chord_beats"] * step * 0.95, p, v))
            if i % 2 == 0 and rng.random() < 0.65:
                pos = int(np.clip(pos + rng.choice([-2, -1, -1, 1, 1, 2, 0]), 0, len(scale) - 1))
                notes.append((_t(song, i, step, rng), 2 * step * legato, scale[pos], _vel(base, rng, 12)))
    return [n for n in notes if n[0] < song["seconds"]]


def bass_notes(song, rng):
    step, spb = _grid(song)
    total = int(song["seconds"] / step) + 1
    base = float(rng.uniform(70, 115))
    low = int(rng.integers(28, 36))                # register of the roots (E1..B1 and up)
    kind = str(rng.choice(["quarters", "eighths", "syncopated", "halves", "root5"]))
    n8 = spb // 2
    if kind == "quarters":
        mask = [j % 2 == 0 for j in range(n8)]
    elif kind == "eighths":
        mask = [True] * n8
    elif kind == "halves":
        mask = [j % 4 == 0 for j in range(n8)]
    elif kind == "root5":
        mask = [j % 2 == 0 or j == n8 - 1 for j in range(n8)]
    else:
        mask = list(rng.random(n8) < 0.5)
        mask[0] = True
    hits = [2 * j for j in range(n8) if mask[j]]
    legato = float(rng.uniform(0.5, 0.95))
    notes = []
    for bar0 in range(0, total, spb):
        for h_i, h in enumerate(hits):
            i = bar0 + h
            nxt = hits[h_i + 1] if h_i + 1 < len(hits) else spb
            (root, pcs), first = _chord_at(song, i)
            r = low + (root - low) % 12
            if first or h == 0:
                p = r
            else:
                p = int(rng.choice([r, r, r + 7, r + 12, low + (pcs[1] - low) % 12, r + 7 - 12 if r + 7 - 12 >= low
                                    else r + 7]))
            if h_i == len(hits) - 1 and len(hits) > 2 and rng.random() < 0.3:
                p = r + int(rng.choice([-1, 1, 2, -2]))    # approach note
            notes.append((_t(song, i, step, rng), (nxt - h) * step * legato, int(p),
                          _vel(base, rng, 8 if h == 0 else 0)))
    return [n for n in notes if n[0] < song["seconds"]]


def drum_pattern(song, rng):
    """One-bar groove: dict part -> list of (step, velocity 0..1, articulation)."""
    spb = 4 * song["beats"]
    kick = [(0, 1.0)]
    for s in range(1, spb):
        p = 0.3 if s % 2 == 0 else 0.08
        if s % 4 == 0 and song["beats"] == 4 and s == 8:
            p = 0.6
        if rng.random() < p:
            kick.append((s, float(rng.uniform(0.35, 1.0))))
    feel = str(rng.choice(["backbeat", "backbeat", "halftime", "busy"])) if song["beats"] == 4 else "waltz"
    snare = []
    if feel in ("backbeat", "busy"):
        snare = [(4, 1.0), (12, 1.0)]
    elif feel == "halftime":
        snare = [(8, 1.0)]
    else:
        snare = [(4, 0.9), (8, 0.9)]
    ghosts = 0.05 if feel != "busy" else 0.2
    for s in range(spb):
        if all(s != x for x, _ in snare) and rng.random() < ghosts:
            snare.append((s, float(rng.uniform(0.25, 0.45))))
    rate = int(rng.choice([1, 2, 2, 4])) if song.get("hat_rate") is None else int(song["hat_rate"])
    hat = []
    offs = [s for s in range(0, spb, rate) if s % 4 == 2] or list(range(4, spb, 4))
    open_step = int(rng.choice(offs)) if rng.random() < 0.6 else -1
    for s in range(0, spb, rate):
        acc = 0.9 if s % 4 == 0 else 0.6
        hat.append((s, float(np.clip(acc + 0.1 * rng.standard_normal(), 0.3, 1.0)), "open" if s == open_step else
                    "closed"))
    backbeat = {x for x, v in snare if v >= 0.9}
    kick = [(s, v, "") for s, v in kick if s not in backbeat]
    return {"kick": sorted(kick), "snare": sorted((s, v, "") for s, v in snare), "hihat": hat, "feel": feel,
            "hat_rate": rate}


def _vary(pat, spb, rng):
    """A variation of a groove: one kick added, maybe a ghost note."""
    out = {k: list(v) for k, v in pat.items() if k in ("kick", "snare", "hihat")}
    s = int(rng.integers(1, spb))
    if all(s != x for x, _, _ in out["snare"]):
        out["kick"] = sorted(out["kick"] + [(s, float(rng.uniform(0.35, 0.9)), "")])
    if rng.random() < 0.5:                          # open the last off-beat hat
        last = spb - pat["hat_rate"]
        out["hihat"] = [(x, v, "open" if x == last else a) for x, v, a in out["hihat"]]
    if rng.random() < 0.5:
        g = int(rng.integers(0, spb))
        if all(g != x for x, _, _ in out["snare"]):
            out["snare"] = sorted(out["snare"] + [(g, float(rng.uniform(0.25, 0.45)), "")])
    return out


def drum_hits(song, rng):
    """[(time_s, part, velocity, articulation)] of the drum part."""
    step, spb = _grid(song)
    pat = drum_pattern(song, rng)
    var = _vary(pat, spb, rng)
    phrase = int(rng.choice([4, 8]))
    hits = []
    n_bars = int(song["seconds"] / (step * spb)) + 1
    for bar in range(n_bars):
        p = var if bar % phrase == phrase // 2 - 1 else pat
        fill = bar % phrase == phrase - 1 and rng.random() < 0.7
        for part in ("kick", "snare", "hihat"):
            for s, v, art in p[part]:
                if fill and s >= spb - 4 and part != "hihat":
                    continue
                hits.append((_t(song, bar * spb + s, step, rng), part, v * float(rng.uniform(0.9, 1.0)), art))
        if fill:
            for s in range(spb - 4, spb):
                v = 0.5 + 0.5 * (s - spb + 4) / 3.0
                if rng.random() < 0.85:
                    hits.append((_t(song, bar * spb + s, step, rng), "snare", v, ""))
    return [h for h in hits if h[0] < song["seconds"]], {"feel": pat["feel"], "hat_rate": pat["hat_rate"],
                                                          "phrase": phrase,
                                                          "kick_steps": [s for s, _, _ in pat["kick"]],
                                                          "snare_steps": [s for s, _, _ in pat["snare"]]}


# ------------------------------------------------------------- rendering --

def _sample_for(kit, part, vel, art, rng):
    if part == "hihat":
        files = kit["hihat"]["open" if art == "open" else "closed"]
    else:
        files = kit[part]["soft" if vel < 0.5 else "hard"]
    return files[int(rng.integers(len(files)))]


def render_drums(hits, kit, sr, n, rng):
    """(dict part -> float64 mono (n,), each hit the kit sample times its
    velocity; dict part -> set of the files used)."""
    out = {k: np.zeros(n) for k in ("kick", "snare", "hihat")}
    used = {k: set() for k in out}
    for t0, part, vel, art in hits:
        f = _sample_for(kit, part, vel, art, rng)
        used[part].add(f)
        x = mx._load_sample(f, sr) * vel * (1.0 + 0.05 * rng.standard_normal())
        a = int(round(t0 * sr))
        b = min(n, a + len(x))
        if b > a:
            out[part][a:b] += x[:b - a]
    return out, used


def _render_notes(notes, inst, sr, n):
    return mx._render(notes, PROGRAM[inst], sr, n) if notes else np.zeros(n)


def _describe(song):
    return {k: song[k] for k in ("tempo", "beats", "key_name", "mode", "degrees", "chord_beats", "seventh", "swing",
                                 "piano_style", "seconds")}


# ---------------------------------------------------------------- training --

_cache = {}


def _train_sections(inst, seconds, seed):
    """Lengths of the sections (15-30 s each) of a training recording."""
    rng = _rng("train", seed, inst, 10 ** 6)
    out, left = [], seconds
    while left > 0:
        s = float(rng.uniform(15.0, 30.0))
        if left - s < 8.0:
            s = left
        out.append(s)
        left -= s
    return out, [float(10 ** (rng.uniform(-4, 4) / 20)) for _ in out]


def train_parts(inst, seconds=120.0, sr=22050, seed=0):
    """(dict of float64 parts before levelling, info). inst piano|bass|drums."""
    key = ("train", inst, float(seconds), int(sr), int(seed))
    if key in _cache:
        return _cache[key]
    n = int(round(seconds * sr))
    lens, gains = _train_sections(inst, seconds, seed)
    info = {"sections": []}
    # training covers the styles: each section takes the next of a shuffled cycle
    crng = _rng("train", seed, inst, 10 ** 6 + 1)
    styles = [str(v) for v in crng.permutation(["arp", "block", "stride", "melody"])]
    rates = [int(v) for v in crng.permutation([1, 2, 4])]

    def plan(rng, L, j):
        song = make_song(rng, L)
        song["piano_style"], song["hat_rate"] = styles[j % len(styles)], rates[j % len(rates)]
        return song
    if inst in ("piano", "bass"):
        notes, t0 = [], 0.0
        for j, (L, g) in enumerate(zip(lens, gains)):
            rng = _rng("train", seed, inst, j)
            song = plan(rng, L, j)
            part = piano_notes(song, rng) if inst == "piano" else bass_notes(song, rng)
            vscale = g                                   # dynamics by velocity, the timbre follows
            for s, d, p, v in part:
                notes.append((t0 + s, min(d, L - s + 0.05), p, int(np.clip(round(v * vscale), 15, 127))))
            info["sections"].append(dict(_describe(song), start=t0, velocity_scale=round(g, 3),
                                         pitches=[p for _, _, p, _ in part]))
            t0 += L
        parts = {inst: _render_notes(notes, inst, sr, n)}
    else:
        parts = {k: np.zeros(n) for k in ("kick", "snare", "hihat")}
        used, t0 = {k: set() for k in parts}, 0.0
        for j, (L, g) in enumerate(zip(lens, gains)):
            rng = _rng("train", seed, "drums", j)
            song = plan(rng, L, j)
            hits, pinfo = drum_hits(song, rng)
            a, m = int(round(t0 * sr)), int(round(L * sr))
            m = min(m, n - a)
            sec, u = render_drums(hits, TRAIN_DRUMS, sr, m, rng)
            for k in used:
                used[k] |= u[k]
            for k in parts:
                parts[k][a:a + m] += g * sec[k]       # a hit's tail is cut at the section's end
            info["sections"].append(dict(_describe(song), start=t0, gain=round(g, 3), groove=pinfo))
            t0 += L
        info["samples"] = {k: sorted(v) for k, v in used.items()}
    _cache[key] = (parts, info)
    return parts, info


def train_stem(instrument, seconds=120.0, sr=22050, seed=0):
    """float32 mono training recording of one instrument (piano, bass, drums,
    kick, snare), RMS as in the test mixtures, peak < 1."""
    if instrument not in INSTRUMENTS:
        raise ValueError("instrument must be one of %s" % ", ".join(INSTRUMENTS))
    src = instrument if instrument in ("piano", "bass") else "drums"
    parts, _ = train_parts(src, seconds, sr, seed)
    if instrument in ("piano", "bass"):
        x = mx._level(parts[instrument], LEVEL[instrument])
    elif instrument == "drums":
        x = sum(mx._level(parts[k], LEVEL[k]) for k in ("kick", "snare", "hihat"))
    else:
        x = mx._level(parts[instrument], LEVEL[instrument])
    peak = np.max(np.abs(x))
    if peak > 0.95:
        x = x * (0.95 / peak)
    return x.astype(np.float32)


def train_info(instrument, seconds=120.0, sr=22050, seed=0):
    src = instrument if instrument in ("piano", "bass") else "drums"
    return train_parts(src, seconds, sr, seed)[1]


# -------------------------------------------------------------------- test --

def _pans(names, rng):
    """Distinct pan positions in [-0.8, 0.8], at least 0.3 apart."""
    while True:
        p = rng.uniform(-0.8, 0.8, size=len(names))
        if len(names) < 2 or np.min(np.diff(np.sort(p))) >= 0.3:
            return {k: float(v) for k, v in zip(names, p)}


def test_song(kind, seconds=30.0, sr=22050, seed=1001):
    """(dict of float64 stems, info) of a test mixture before the final gain."""
    if kind not in KINDS:
        raise ValueError("kind must be one of %s" % ", ".join(KINDS))
    key = ("test", kind, float(seconds), int(sr), int(seed))
    if key in _cache:
        return _cache[key]
    n = int(round(seconds * sr))
    song = make_song(_rng("test", seed, "song"), seconds)
    mrng = _rng("test", seed, "mix")
    db = {k: float(mrng.uniform(-3, 3)) for k in ("piano", "bass", "kick", "snare", "hihat")}
    info = {"song": _describe(song), "level_db": db}
    stems = {}
    drng = _rng("test", seed, "drums")
    hits, pinfo = drum_hits(song, drng)
    d, used = render_drums(hits, TEST_DRUMS, sr, n, drng)
    parts = ["kick", "snare"] + (["hihat"] if kind == "piano_bass_drums" else [])
    info["groove"], info["samples"] = pinfo, {k: sorted(used[k]) for k in parts}
    d = {k: mx._level(v, LEVEL[k] * 10 ** (db[k] / 20)) for k, v in d.items()}
    if kind == "piano_bass_drums":
        for inst in ("piano", "bass"):
            r = _rng("test", seed, inst)
            notes = piano_notes(song, r) if inst == "piano" else bass_notes(song, r)
            info[inst + "_pitches"] = [p for _, _, p, _ in notes]
            stems[inst] = mx._level(_render_notes(notes, inst, sr, n), LEVEL[inst] * 10 ** (db[inst] / 20))
        stems["drums"] = d["kick"] + d["snare"] + d["hihat"]
    else:
        stems["kick"], stems["snare"] = d["kick"], d["snare"]
    info["pan"] = _pans(KINDS[kind], mrng)
    _cache[key] = (stems, info)
    return stems, info


def test_mixture(kind, seconds=30.0, sr=22050, seed=1001, stereo=False):
    """(mix, stems): float32; mono (n,) or stereo (n, 2). The mix is the sum of
    the stems; one gain keeps both the mono and the stereo peak <= 0.9."""
    raw, info = test_song(kind, seconds, sr, seed)
    pan = info["pan"]
    gains = {k: (1.0 - 0.7 * pan[k], 1.0 + 0.7 * pan[k]) for k in raw}
    mono = sum(raw.values())
    st = sum(np.stack([v * gains[k][0], v * gains[k][1]], axis=1) for k, v in raw.items())
    peak = max(np.max(np.abs(mono)), np.max(np.abs(st)))
    g = 0.9 / peak if peak > 0.9 else 1.0
    if stereo:
        stems = {k: (np.stack([v * gains[k][0], v * gains[k][1]], axis=1) * g).astype(np.float32)
                 for k, v in raw.items()}
    else:
        stems = {k: (v * g).astype(np.float32) for k, v in raw.items()}
    mix = np.sum([v.astype(np.float64) for v in stems.values()], axis=0).astype(np.float32)
    return mix, stems


# ---------------------------------------------------------------- checks --

def _rms(x):
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))


def _hist(pitches):
    h = np.bincount(np.asarray(pitches, int) % 12, minlength=12).astype(float)
    return h / max(h.sum(), 1.0)


def check(sr=22050, train_seconds=120.0, test_seconds=30.0, train_seed=0, test_seeds=(1001, 1002, 1003)):
    """Listen-free checks; returns (ok, lines)."""
    lines, ok = [], True

    def req(cond, msg):
        nonlocal ok
        ok &= bool(cond)
        lines.append(("ok   " if cond else "FAIL ") + msg)

    for inst in INSTRUMENTS:
        x = train_stem(inst, train_seconds, sr, train_seed)
        nz = np.mean(np.abs(x) > 1e-4)
        req(len(x) == int(round(train_seconds * sr)) and np.all(np.isfinite(x)), "train %s: length, finite" % inst)
        req(0.02 < _rms(x) < 0.3 and np.max(np.abs(x)) < 0.99 and nz > 0.5,
            "train %s: rms %.3f, peak %.3f, %.0f%% of samples nonzero" % (inst, _rms(x), np.max(np.abs(x)),
                                                                         100 * nz))
        secs = 4
        seg = [_rms(x[i * len(x) // secs:(i + 1) * len(x) // secs]) for i in range(secs)]
        req(min(seg) > 0.2 * max(seg), "train %s: sound throughout (rms per quarter %s)"
            % (inst, " ".join("%.3f" % s for s in seg)))
    for kind in KINDS:
        for s in test_seeds:
            mix, stems = test_mixture(kind, test_seconds, sr, s)
            mixs, stemss = test_mixture(kind, test_seconds, sr, s, stereo=True)
            exact = np.array_equal(mix, np.sum([v.astype(np.float64) for v in stems.values()], 0).astype(np.float32))
            req(exact, "test %s-%d: mix is the sum of the stems" % (kind, s))
            req(np.max(np.abs(mix)) <= 0.9 + 1e-6 and np.max(np.abs(mixs)) <= 0.9 + 1e-6,
                "test %s-%d: peaks mono %.3f stereo %.3f" % (kind, s, np.max(np.abs(mix)), np.max(np.abs(mixs))))
            req(all(_rms(v) > 0.01 for v in stems.values()),
                "test %s-%d: stem rms %s" % (kind, s, " ".join("%s %.3f" % (k, _rms(v)) for k, v in stems.items())))
            req(np.max(np.abs(mixs.mean(axis=1) - mix)) < 1e-6, "test %s-%d: stereo channel mean = mono" % (kind, s))
            lr = {k: _rms(v[:, 0]) / _rms(v[:, 1]) for k, v in stemss.items()}
            req(len(set(round(v, 2) for v in lr.values())) == len(lr),
                "test %s-%d: pans L/R %s" % (kind, s, " ".join("%s %.2f" % kv for kv in lr.items())))
    # determinism: recompute with the cache cleared
    a = {i: train_stem(i, train_seconds, sr, train_seed) for i in ("piano", "drums")}
    b = test_mixture("piano_bass_drums", test_seconds, sr, test_seeds[0])
    _cache.clear()
    mx._cache.clear()
    req(all(np.array_equal(a[i], train_stem(i, train_seconds, sr, train_seed)) for i in a),
        "determinism: training piano, drums identical after a fresh render")
    b2 = test_mixture("piano_bass_drums", test_seconds, sr, test_seeds[0])
    req(np.array_equal(b[0], b2[0]) and all(np.array_equal(b[1][k], b2[1][k]) for k in b[1]),
        "determinism: test mixture identical after a fresh render")
    other = test_mixture("piano_bass_drums", test_seconds, sr, test_seeds[0] + 7)[0]
    req(not np.array_equal(b[0], other), "another seed gives another mixture")
    # training vs test music
    tr_tempi = {sec["tempo"] for i in ("piano", "bass", "drums") for sec in train_info(i, train_seconds, sr,
                                                                                        train_seed)["sections"]}
    tr_prog = {(sec["key_name"], tuple(sec["degrees"])) for i in ("piano", "bass")
               for sec in train_info(i, train_seconds, sr, train_seed)["sections"]}
    tr_grooves = {(tuple(sec["groove"]["kick_steps"]), tuple(sec["groove"]["snare_steps"]))
                  for sec in train_info("drums", train_seconds, sr, train_seed)["sections"]}
    tr_samples = {f for v in train_info("drums", train_seconds, sr, train_seed)["samples"].values() for f in v}
    for inst in ("piano", "bass"):
        tr_p = [p for sec in train_info(inst, train_seconds, sr, train_seed)["sections"] for p in sec["pitches"]]
        for s in test_seeds:
            _, info = test_song("piano_bass_drums", test_seconds, sr, s)
            te_p = info[inst + "_pitches"]
            tv = 0.5 * np.abs(_hist(tr_p) - _hist(te_p)).sum()
            req(tv > 0.05, "%s pitch-class histogram train vs test %d: total variation %.2f (mean pitch %.1f vs %.1f)"
                % (inst, s, tv, np.mean(tr_p), np.mean(te_p)))
    for kind in KINDS:
        for s in test_seeds:
            _, info = test_song(kind, test_seconds, sr, s)
            sg = info["song"]
            g = (tuple(info["groove"]["kick_steps"]), tuple(info["groove"]["snare_steps"]))
            req(sg["tempo"] not in tr_tempi and (sg["key_name"], tuple(sg["degrees"])) not in tr_prog
                and g not in tr_grooves and not ({f for v in info["samples"].values() for f in v} & tr_samples),
                "test %s-%d (%.1f bpm, %s %s, %s) shares no tempo, progression, groove or drum sample with training"
                % (kind, s, sg["tempo"], sg["key_name"], sg["degrees"], sg["piano_style"]))
    lines.append("training tempi: " + " ".join("%.1f" % t for t in sorted(tr_tempi)))
    return ok, lines


# ------------------------------------------------------------------ main --

def write_all(out, sr=22050, train_seconds=120.0, test_seconds=30.0, n_test=3, train_seed=0, test_seed=1001):
    test_seeds = list(range(test_seed, test_seed + n_test))
    if train_seed in test_seeds:
        raise ValueError("test seeds %s must not contain the training seed %d" % (test_seeds, train_seed))
    man = {"sr": sr, "train_seed": train_seed, "test_seeds": test_seeds, "generator": "examples/make_material.py",
           "train": {}, "test": {},
           "sources": {"piano": "FluidR3_GM.sf2 program 0 (MIT)", "bass": "FluidR3_GM.sf2 program 33 (MIT)",
                       "drums": "hydrogen-drumkits ColomboAcousticDrumkit (GPL-2+ with composition exception)"},
           "train_drum_samples": TRAIN_DRUMS, "test_drum_samples": TEST_DRUMS}
    os.makedirs(os.path.join(out, "train"), exist_ok=True)
    for inst in INSTRUMENTS:
        x = train_stem(inst, train_seconds, sr, train_seed)
        p = os.path.join(out, "train", inst + ".wav")
        sf.write(p, x, sr, subtype="FLOAT")
        man["train"][inst] = {"path": os.path.relpath(p, out), "seconds": len(x) / sr, "rms": _rms(x),
                              "peak": float(np.max(np.abs(x))), "music": train_info(inst, train_seconds, sr,
                                                                                    train_seed)}
    for kind in KINDS:
        for s in test_seeds:
            name = "%s-%d" % (kind, s)
            d = os.path.join(out, "test", name)
            os.makedirs(os.path.join(d, "stereo"), exist_ok=True)
            ent = {"dir": os.path.relpath(d, out), "stems": KINDS[kind]}
            for stereo, sub in ((False, ""), (True, "stereo")):
                mix, stems = test_mixture(kind, test_seconds, sr, s, stereo=stereo)
                sf.write(os.path.join(d, sub, "mix.wav"), mix, sr, subtype="FLOAT")
                for k, v in stems.items():
                    sf.write(os.path.join(d, sub, k + ".wav"), v, sr, subtype="FLOAT")
                if not stereo:
                    ent["rms"] = {k: _rms(v) for k, v in stems.items()}
                    ent["rms"]["mix"] = _rms(mix)
            info = dict(test_song(kind, test_seconds, sr, s)[1])
            for k in ("piano_pitches", "bass_pitches"):
                info.pop(k, None)
            ent["music"] = info
            man["test"][name] = ent
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
    return man


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--sr", type=int, default=22050)
    ap.add_argument("--train-seconds", type=float, default=120.0)
    ap.add_argument("--test-seconds", type=float, default=30.0)
    ap.add_argument("--n-test", type=int, default=3)
    ap.add_argument("--train-seed", type=int, default=0)
    ap.add_argument("--test-seed", type=int, default=1001, help="first test seed (then +1, +2, ...)")
    ap.add_argument("--check", action="store_true", help="run the listen-free checks too")
    a = ap.parse_args()
    if a.test_seed <= a.train_seed < a.test_seed + a.n_test:
        ap.error("the test seeds %d..%d must not contain the training seed %d"
                 % (a.test_seed, a.test_seed + a.n_test - 1, a.train_seed))
    t0 = time.time()
    man = write_all(a.out, a.sr, a.train_seconds, a.test_seconds, a.n_test, a.train_seed, a.test_seed)
    print("%s: train %s (%.0f s each), %d test mixtures (%.0f s), %.1f s"
          % (a.out, ", ".join(man["train"]), a.train_seconds, len(man["test"]), a.test_seconds, time.time() - t0))
    if a.check:
        ok, lines = check(a.sr, a.train_seconds, a.test_seconds, a.train_seed, man["test_seeds"])
        print("\n".join(lines))
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
